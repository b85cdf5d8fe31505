"""The assistant on the API: `POST /assistant/chat` and `GET /assistant/chat/stream` (Server-Sent Events).

Any signed-in caller may ask; each tool then checks the caller's own role, so a viewer's request to
promote is refused and audited as such. A change is planned as `needs_confirmation` and runs
only when the same caller sends `{"confirm": ACTION_ID}`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from rakuten_mlops.assistant.chat import Assistant, Reply
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.errors import DataError
from rakuten_mlops.serving.deps import ViewerUser

assistant_router = APIRouter(tags=["assistant"])
MAX_MESSAGE = 2_000


class ChatRequest(BaseModel):
    """A request in English or French, or the confirmation of an action planned before."""

    message: str = Field("", max_length=MAX_MESSAGE, examples=["promote version 3"])
    conversation_id: str | None = Field(None, max_length=64)
    confirm: str | None = Field(None, max_length=64, description="the id of a needs_confirmation action")
    dry_run: bool = False


class ChatAction(BaseModel):
    id: str
    tool: str
    arguments: dict[str, Any]
    mutating: bool
    status: str
    result: dict[str, Any] | None = None
    error: str | None = None


class ChatReply(BaseModel):
    reply: str
    actions: list[ChatAction]


def _assistant(request: Request) -> Assistant:
    found: Assistant | None = getattr(request.app.state, "assistant", None)
    if found is None:
        # Its listing tools call this server; its run tools need the server's Prefect (no temporary one).
        base = str(request.base_url).rstrip("/")
        found = request.app.state.assistant = Assistant(
            request.app.state.settings, api_url=base, local_prefect=False
        )
    return found


def _chat(
    request: Request, who: Principal, body: ChatRequest, on_log: Callable[[str], None] | None = None
) -> Reply:
    if body.confirm is None and not body.message.strip():
        raise HTTPException(422, "say what to do in `message`, or confirm an action with `confirm`")
    try:
        return _assistant(request).chat(
            body.message, who, confirm=body.confirm, dry_run=body.dry_run, on_log=on_log
        )
    except DataError as exc:  # an unknown or foreign confirmation
        raise HTTPException(409 if "someone else" in str(exc) else 404, str(exc)) from exc


@assistant_router.post(
    "/assistant/chat",
    response_model=ChatReply,
    responses={404: {"description": "no such action waits for a confirmation"},
               409: {"description": "the action was planned by another caller"}},
)  # fmt: skip
async def chat(request: Request, who: ViewerUser, body: ChatRequest) -> Any:
    """Plan a request; run it if it only reads; hold a change until `confirm` names it."""
    reply = await to_thread.run_sync(_chat, request, who, body)
    return reply.to_dict()


async def _events(request: Request, who: Principal, body: ChatRequest) -> AsyncIterator[ServerSentEvent]:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def said(line: str) -> None:  # from the worker thread that runs the turn
        loop.call_soon_threadsafe(lines.put_nowait, line)

    turn = asyncio.ensure_future(to_thread.run_sync(_chat, request, who, body, said))
    while not turn.done() or not lines.empty():
        line = asyncio.ensure_future(lines.get())
        await asyncio.wait({turn, line}, return_when=asyncio.FIRST_COMPLETED)
        if line.done():
            yield ServerSentEvent(line.result(), event="log")  # the work's log, as it is written
        else:
            line.cancel()
    try:
        reply = turn.result()
    except HTTPException as exc:  # the stream has begun: the refusal is an event, then the end
        yield ServerSentEvent(json.dumps({"status": exc.status_code, "detail": exc.detail}), event="error")
        yield ServerSentEvent("", event="end")
        return
    for action in reply.to_dict()["actions"]:
        yield ServerSentEvent(json.dumps(action, default=str), event="action")
    for word in reply.reply.split(" "):  # the reply as it is written
        yield ServerSentEvent(word + " ", event="reply")
    yield ServerSentEvent("", event="end")


@assistant_router.get("/assistant/chat/stream")
async def chat_stream(
    request: Request,
    who: ViewerUser,
    message: Annotated[str, Query(max_length=MAX_MESSAGE)] = "",
    confirm: Annotated[
        str | None, Query(max_length=64, description="a needs_confirmation action's id")
    ] = None,
) -> EventSourceResponse:
    """The same turn as Server-Sent Events: the work's `log` lines as they are written (a confirmed
    build), each `action`, the `reply` word by word, then `end`; a refused confirmation is an `error`."""
    if confirm is None and not message.strip():
        raise HTTPException(422, "say what to do in `message`, or confirm an action with `confirm`")
    body = ChatRequest.model_validate({"message": message, "confirm": confirm})
    return EventSourceResponse(_events(request, who, body), ping=10)
