"""HTTP mode: bolt's request handling on aiohttp routes (events, install page, OAuth redirect)."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

EVENTS_PATH = "/slack/events"


class SlackRequestHandler:
    """Hands each request to bolt: POSTs to ``async_dispatch`` (which verifies the signature
    and the timestamp and answers 401 before any listener runs), GETs to the OAuth flow."""

    def __init__(self, app: AsyncApp) -> None:
        self._app = app

    async def events(self, request: web.Request) -> web.Response:
        bolt_response = await self._app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def install(self, request: web.Request) -> web.Response:
        flow = self._app.oauth_flow
        if flow is None:
            raise web.HTTPNotFound()
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def oauth_redirect(self, request: web.Request) -> web.Response:
        flow = self._app.oauth_flow
        if flow is None:
            raise web.HTTPNotFound()
        bolt_response = await flow.handle_callback(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)


def mount_routes(web_app: web.Application, app: AsyncApp) -> None:
    """Add the Slack routes to ``web_app`` (before it starts). The OAuth routes exist only
    when the app installs into many workspaces."""
    handler = SlackRequestHandler(app)
    web_app.router.add_post(EVENTS_PATH, handler.events)
    flow = app.oauth_flow
    if flow is not None:
        web_app.router.add_get(flow.install_path, handler.install)
        web_app.router.add_get(flow.redirect_uri_path, handler.oauth_redirect)
