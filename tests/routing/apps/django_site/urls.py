"""The root URLconf of the test Django project."""

from __future__ import annotations

from typing import Any

from django.urls import include, path, re_path  # type: ignore[import-untyped,unused-ignore]
from rest_framework.routers import DefaultRouter  # type: ignore[import-untyped,unused-ignore]

from tests.routing.apps.django_site import views

router = DefaultRouter()
router.register("articles", views.ArticleViewSet, basename="article")

archive = [path("<slug:slug>/", views.archived, name="archived")]

urlpatterns: list[Any] = [
    path("", views.home, name="home"),
    path("blog/", include("tests.routing.apps.django_site.blog")),
    path("archive/<int:year>/", include((archive, "archive"))),
    re_path(r"^articles/(?P<year>[0-9]{4})/$", views.year_archive, name="year-archive"),
    re_path(r"^files/(?P<name>.+)\.txt$", views.text_file, name="text-file"),
    re_path(r"^(?:old|new)/$", views.old_or_new, name="old-or-new"),
    re_path(r"^search/?$", views.search, name="search"),
    re_path(r"^about/", views.about, name="about"),
    path("items/<uuid:item_id>/", views.item, name="item"),
    path("docs/<path:page>", views.docs, name="docs"),
    path("form/", views.form, name="form"),
    path("narrowed/", views.narrowed),
    path("contact/", views.ContactView.as_view(), name="contact"),
    path("post-only/", views.PostOnly.as_view(http_method_names=["post", "options"]), name="post-only"),
    path("read-only/", views.ReadOnly.as_view(), name="read-only"),
    path("stats/", views.stats, name="stats"),
    path("shadow/", views.first, name="first"),
    path("shadow/", views.second, name="second"),
    path("linked/", views.linked_page, name="linked"),
    path("api/", include(router.urls)),
]
