# mypy: disallow-subclassing-any=False, disallow-untyped-decorators=False
"""Views of the test Django project: each answers with its name and what Django gave it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse  # type: ignore[import-untyped,unused-ignore]
from django.template import engines  # type: ignore[import-untyped,unused-ignore]
from django.urls import reverse  # type: ignore[import-untyped,unused-ignore]
from django.utils.decorators import method_decorator  # type: ignore[import-untyped,unused-ignore]
from django.views import View  # type: ignore[import-untyped,unused-ignore]
from django.views.decorators.http import require_GET, require_http_methods  # type: ignore[import-untyped,unused-ignore]
from rest_framework import viewsets  # type: ignore[import-untyped,unused-ignore]
from rest_framework.decorators import api_view  # type: ignore[import-untyped,unused-ignore]
from rest_framework.request import Request  # type: ignore[import-untyped,unused-ignore]
from rest_framework.response import Response  # type: ignore[import-untyped,unused-ignore]

from turnout.integrations.django import turnout_url


def answer(request: HttpRequest, view: str, **kwargs: Any) -> JsonResponse:
    return JsonResponse({"view": view, "kwargs": {k: str(v) for k, v in kwargs.items()}})


def home(request: HttpRequest) -> JsonResponse:
    return answer(request, "home")


def post_detail(request: HttpRequest, pk: int) -> JsonResponse:
    """Links to itself with Django's own `reverse`, and to the other sides with `turnout_url`."""
    return JsonResponse(
        {
            "view": "post_detail",
            "pk": pk,
            "self": reverse("blog:post-detail", kwargs={"pk": pk}),
            "api": turnout_url(request, "api:user", uid=pk),
            "flask": turnout_url(request, "flask:items.item", item_id=pk),
        }
    )


def comment_list(request: HttpRequest, pk: int) -> JsonResponse:
    return answer(request, "comment_list", pk=pk)


def linked_page(request: HttpRequest) -> HttpResponse:
    """A template with `{% turnout_url %}`, rendered with the request in its context."""
    template = engines["django"].from_string(
        '{% load turnout %}<a href="{% turnout_url "api:user" uid=7 %}">user</a>'
        '{% turnout_url "dj:blog:post-detail" pk=2 as post %} <a href="{{ post }}">post</a>'
    )
    return HttpResponse(template.render({}, request))


def archived(request: HttpRequest, year: int, slug: str) -> JsonResponse:
    return answer(request, "archived", year=year, slug=slug)


def year_archive(request: HttpRequest, year: str) -> JsonResponse:
    return answer(request, "year_archive", year=year)


def text_file(request: HttpRequest, name: str) -> JsonResponse:
    return answer(request, "text_file", name=name)


def old_or_new(request: HttpRequest) -> JsonResponse:
    return answer(request, "old_or_new")


def search(request: HttpRequest) -> JsonResponse:
    return answer(request, "search")


def about(request: HttpRequest) -> JsonResponse:
    return answer(request, "about")


def item(request: HttpRequest, item_id: Any) -> JsonResponse:
    return answer(request, "item", item_id=item_id)


def docs(request: HttpRequest, page: str) -> JsonResponse:
    return answer(request, "docs", page=page)


@require_http_methods(["GET", "POST"])
def form(request: HttpRequest) -> JsonResponse:
    return answer(request, "form")


@require_GET
@require_http_methods(["GET", "PUT"])
def narrowed(request: HttpRequest) -> JsonResponse:
    return answer(request, "narrowed")


def first(request: HttpRequest) -> JsonResponse:
    return answer(request, "first")


def second(request: HttpRequest) -> JsonResponse:
    return answer(request, "second")


class ContactView(View):
    def get(self, request: HttpRequest) -> JsonResponse:
        return answer(request, "contact")

    def post(self, request: HttpRequest) -> JsonResponse:
        return answer(request, "contact sent")


class PostOnly(View):
    def get(self, request: HttpRequest) -> JsonResponse:
        return answer(request, "never: http_method_names leaves get out")

    def post(self, request: HttpRequest) -> JsonResponse:
        return answer(request, "post only")


@method_decorator(require_GET, name="dispatch")
class ReadOnly(View):
    def get(self, request: HttpRequest) -> JsonResponse:
        return answer(request, "read only")

    def put(self, request: HttpRequest) -> JsonResponse:
        return answer(request, "never: dispatch requires GET")


@api_view(["GET", "POST"])
def stats(request: Request) -> Response:
    return Response({"view": "stats"})


class ArticleViewSet(viewsets.ViewSet):
    def list(self, request: Request, format: str | None = None) -> Response:
        return Response({"view": "article-list", "format": request.accepted_renderer.format})

    def create(self, request: Request) -> Response:
        return Response({"view": "article-create"}, status=201)

    def retrieve(self, request: Request, pk: str, format: str | None = None) -> Response:
        return Response({"view": "article-detail", "pk": pk})

    def destroy(self, request: Request, pk: str) -> Response:
        return Response(status=204)
