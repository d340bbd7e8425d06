"""Signing in as an app does: a user's password for Cognito tokens, and a token kept fresh.

`ImgpipeApi` asks for a token before every call; `TokenSource` hands out the access token it has
and signs in again shortly before it expires, so a client that runs longer than a token lives
(an hour by default) keeps working without knowing about it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# Sign in again this long before the token expires: a request signed with it must still arrive
# in time, and a clock a little off must not make the API answer 401.
REFRESH_MARGIN_S = 300.0

SignIn = Callable[[], tuple[str, int]]  # () -> (access token, seconds it lives)


def password_sign_in(cognito: Any, client_id: str, user: str, password: str) -> tuple[str, int]:
    """`InitiateAuth` with USER_PASSWORD_AUTH (no AWS credentials needed): (access token, expires in s)."""
    result = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": password},
    )["AuthenticationResult"]
    return str(result["AccessToken"]), int(result["ExpiresIn"])


class TokenSource:
    """A callable giving a valid access token, signing in through `sign_in` when it has none fresh."""

    def __init__(
        self,
        sign_in: SignIn,
        margin_s: float = REFRESH_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sign_in, self._margin_s, self._clock = sign_in, margin_s, clock
        self._token = ""
        self._renew_at = 0.0
        self.sign_ins = 0

    def __call__(self) -> str:
        """The access token, signed in again first if it is within the margin of its expiry."""
        now = self._clock()
        if not self._token or now >= self._renew_at:
            self._token, lives_s = self._sign_in()
            # a token living less than twice the margin is renewed halfway through its life
            self._renew_at = now + max(lives_s - self._margin_s, lives_s / 2)
            self.sign_ins += 1
        return self._token
