"""One line about a fault, fit to show: no key, secret or password in it.

Keys live only in the environment or the OS keyring (core.keys) and in the
exchange object built from them; every fault message that leaves a feed goes
through `describe_fault`, so that no output, log or file can carry one, even
when an exchange echoes its request back.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.keys import redact, secret_values


def describe_fault(exc: BaseException, limit: int = 300, exchange_ids: Iterable[str] = ()) -> str:
    """'Type: message' of a fault, one line, keys masked, cut to `limit` characters.

    Every key of the environment is masked, and the keyring keys of `exchange_ids`.
    """
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a fault whose message itself breaks
        message = ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    # Masked before it is cut: a key split by the cut would survive in part.
    return redact(" ".join(text.split()), secret_values(exchange_ids))[:limit]
