"""New ASGI apps: FastAPI with routers included in routers, Starlette with `Mount`s, a `Host` and an endpoint class."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Host, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket


async def raw_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app, mounted: its routes are unknown."""
    await PlainTextResponse(f"raw {scope['path']}")(scope, receive, send)


def fastapi_app() -> FastAPI:
    app = FastAPI()
    users = APIRouter(prefix="/users")

    @users.get("/{uid}", name="user")
    async def user(uid: int) -> dict[str, Any]:
        return {"view": "user", "uid": uid}

    @users.post("/")
    async def create_user() -> dict[str, Any]:
        return {"view": "create_user"}

    admin = APIRouter()

    @admin.put("/settings", name="settings")
    async def settings() -> dict[str, Any]:
        return {"view": "settings"}

    users.include_router(admin, prefix="/admin")
    app.include_router(users, prefix="/v1")

    @app.get("/items/{item_id}", name="item")
    async def item(item_id: str) -> dict[str, Any]:
        return {"view": "item", "item_id": item_id}

    @app.post("/items/{item_id}", name="item_update")
    async def item_update(item_id: str) -> dict[str, Any]:
        return {"view": "item_update", "item_id": item_id}

    app.mount("/raw", raw_asgi, name="raw")
    return app


async def home(request: Request) -> Response:
    return JSONResponse({"view": "home"})


async def thing(request: Request) -> Response:
    return JSONResponse({"view": "thing", "id": request.path_params["id"]})


async def thing_put(request: Request) -> Response:
    return JSONResponse({"view": "thing_put"})


async def admin_user(request: Request) -> Response:
    return JSONResponse({"view": "admin_user", "name": request.path_params["name"]})


async def on_host(request: Request) -> Response:
    return JSONResponse({"view": "on_host"})


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


class Counter(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return JSONResponse({"view": "counter"})

    async def post(self, request: Request) -> Response:
        return JSONResponse({"view": "counter incremented"})


def starlette_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/", home, name="home"),
            Route("/things/{id:int}", thing, methods=["GET", "DELETE"], name="thing"),
            Route("/things/{id:int}", thing_put, methods=["GET", "PUT"], name="thing_put"),
            Route("/counter", Counter, name="counter"),
            Route("/asgi", raw_asgi, name="asgi_endpoint"),
            Mount("/admin", routes=[Route("/users/{name}", admin_user, name="user")], name="admin"),
            Mount("/nested", app=Router([Mount("/deeper", routes=[Route("/leaf", home, name="leaf")])])),
            Mount("/files", app=raw_asgi, name="files"),
            Mount("/opaque", app=raw_asgi),
            Host("api.example.com", app=Router([Route("/", on_host)]), name="host"),
            WebSocketRoute("/ws", chat),
        ]
    )
