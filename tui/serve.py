"""`symbiosis serve`: the same app in a browser, through textual-serve (the `web` extra).

textual-serve starts one app process per browser session and relays its screen over a
websocket. It has no authentication, so this module keeps it on loopback by default,
says so on start, and refuses websockets opened by another site's page.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
INSTALL_HINT = "pip install 'symbiosis[web]' (from a clone: pip install -e '.[web]')"
NO_AUTH = (
    "serve has no authentication of its own: anyone who can reach the address sees and "
    "edits the book. Keep it on localhost; from another machine use an SSH tunnel"
)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class ServeUnavailable(Exception):
    """The optional web extra is not installed."""


def is_loopback(host: str) -> bool:
    """True for a name or address that only this machine can reach."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def app_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """The shell command that starts the TUI on the same options as this run.

    textual-serve runs it through a shell once per browser session, so every part is quoted.
    Every top-level option of `parser` that was given is passed on, so a flag added to the
    TUI reaches the served app too.
    """
    words = [sys.executable, "-m", "tui.cli"]
    for action in parser._actions:  # noqa: SLF001 - argparse keeps its options here
        if not action.option_strings or action.dest in ("help", "command"):
            continue
        value = getattr(args, action.dest, None)
        if value is None or value == action.default:
            continue
        option = action.option_strings[-1]
        if action.nargs == 0:
            words.append(option)
            continue
        # `--option=value` in one word: a value such as "-10%" is never taken for a flag.
        for item in value if isinstance(value, list) else [value]:
            words.append(f"{option}={item}")
    return shlex.join(words)


def _origin_matches_host(origin: str | None, host: str | None) -> bool:
    """A websocket opened by the served page carries an Origin naming the same host:port."""
    if not origin or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


def _host_name(host_header: str) -> str:
    """'127.0.0.1:8000' -> '127.0.0.1', '[::1]:8000' -> '::1'."""
    return urlsplit(f"//{host_header}").hostname or ""


def build_server(command: str, host: str, port: int, title: str = "Symbiosis") -> Any:
    """A textual-serve Server for `command`; raise ServeUnavailable without the extra."""
    import asyncio  # here, not at the top: `symbiosis report` imports this module too

    try:
        from aiohttp import web
        from textual_serve.server import Server
    except ImportError as exc:
        raise ServeUnavailable(f"serve needs the web extra: {INSTALL_HINT}") from exc

    loopback_only = is_loopback(host)
    sessions: set[asyncio.Task[Any]] = set()

    class SymbiosisServer(Server):
        def _check_host(self, request: Any) -> None:
            # Bound to loopback, a Host that is not a loopback name is a page of another
            # site rebound to 127.0.0.1 (DNS rebinding): it must not read the book.
            if loopback_only and not is_loopback(_host_name(request.host)):
                raise web.HTTPForbidden(text="symbiosis serve answers localhost only\n")

        async def handle_index(self, request: Any) -> Any:
            self._check_host(request)
            # The page names the websocket by an absolute URL: build it from the address
            # the browser used, so an SSH tunnel on another local port still connects.
            # The template reads it before its first await, so requests cannot mix.
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        async def handle_websocket(self, request: Any) -> Any:
            self._check_host(request)
            # Browsers let any page open a websocket to localhost; only the served page
            # (same origin) may drive the app.
            if not _origin_matches_host(request.headers.get("Origin"), request.host):
                raise web.HTTPForbidden(text="websocket from another origin refused\n")
            task = asyncio.current_task()
            assert task is not None
            sessions.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                sessions.discard(task)

        async def on_shutdown(self, app: Any) -> None:
            # aiohttp would wait up to 60 s for each open session; end them now instead:
            # textual-serve then tells each app to quit and waits for it to exit.
            for task in list(sessions):
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)

        async def on_startup(self, app: Any) -> None:
            url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
            print(f"Symbiosis in a browser: {url} (Ctrl+C stops it)", flush=True)
            print(f"Warning: {NO_AUTH} ({tunnel_hint(port)}).", flush=True)
            if not loopback_only:
                print(f"Warning: bound to {host}, which other machines may reach.", flush=True)

    # textual-serve runs the command through a shell: `exec` leaves the app alone in it.
    return SymbiosisServer(f"exec {command}", host=host, port=port, title=title)


def tunnel_hint(port: int | str) -> str:
    return f"ssh -L {port}:127.0.0.1:{port} HOST, then open http://127.0.0.1:{port}"


def check_address(host: str, port: int) -> None:
    """Raise OSError (with a plain strerror) when host:port cannot be listened on.

    Checked before serving so that the start banner never announces an address that the
    server then fails to bind.
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        probe.bind(address)


def serve_app(
    parser: argparse.ArgumentParser, args: argparse.Namespace, replay: Path | None
) -> int:
    """Serve the TUI of `args` until Ctrl+C; 1 when the address cannot be bound, 2 when
    the host is not a name or address.

    Raises ServeUnavailable without the web extra, ReplayError for a replay named on the
    command line that cannot be read (each browser session would fail on it otherwise).
    """
    host, port = args.host, args.port
    server = build_server(app_command(parser, args), host, port)
    if getattr(args, "replay", None) and replay is not None:
        from core.feeds.replay_file import numbered_events

        next(iter(numbered_events(replay)), None)
    try:
        check_address(host, port)
        server.serve()
    except socket.gaierror as exc:
        print(f"symbiosis: --host {host}: {str(exc.strerror).lower()}", file=sys.stderr)
        return 2
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        print(f"symbiosis: cannot serve on {host}:{port} ({reason})", file=sys.stderr)
        return 1
    return 0


def add_serve_parser(sub: Any) -> argparse.ArgumentParser:
    """The `serve` subcommand and its options."""
    serve_parser = sub.add_parser(
        "serve",
        help="serve the app in a web browser (no authentication: keep it on localhost)",
        description=(
            "Serve the app to a web browser, one app per browser tab, on the same options "
            f"as `symbiosis`. Needs the web extra: {INSTALL_HINT}. Warning: {NO_AUTH} "
            f"({tunnel_hint('PORT')})."
        ),
    )
    # The app's own options, also accepted after `serve`; each session gets them.
    for option, metavar in (("--config", "F"), ("--portfolio", "F"), ("--replay", "FILE")):
        serve_parser.add_argument(
            option, metavar=metavar, default=argparse.SUPPRESS, help="as for symbiosis"
        )
    serve_parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; another exposes the book)",
    )
    serve_parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})"
    )
    return serve_parser


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--port must be a number, not {text!r}") from exc
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError("--port must be between 1 and 65535")
    return value
