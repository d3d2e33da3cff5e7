"""The blog's URLconf: an application namespace (`app_name`) with a nested one."""

from __future__ import annotations

from django.urls import include, path  # type: ignore[import-untyped,unused-ignore]

from tests.routing.apps.django_site import views

app_name = "blog"

comments = ([path("", views.comment_list, name="list")], "comments")

urlpatterns = [
    path("<int:pk>/", views.post_detail, name="post-detail"),
    path("<int:pk>/comments/", include(comments)),
]
