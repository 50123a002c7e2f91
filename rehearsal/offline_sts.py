"""A loopback STS answering GetCallerIdentity, the one AWS call a plan of our stacks makes.

`data.aws_caller_identity` is read during every plan (even `-refresh=false`),
and the AWS provider has no setting to skip it. Pointed at this server through
`AWS_ENDPOINT_URL_STS`, the provider reads a fixed, obviously fake account, so
account-bearing values (ARNs in key policies) are known at plan time and the
provider's validators see them. Any other request gets a 400 naming itself.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs

FAKE_ACCOUNT = "123456789012"
_IDENTITY = f"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<GetCallerIdentityResult>
<Arn>arn:aws:iam::{FAKE_ACCOUNT}:user/epoch-plan-gate</Arn>
<UserId>AIDAEPOCHPLANGATE</UserId>
<Account>{FAKE_ACCOUNT}</Account>
</GetCallerIdentityResult>
<ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>
""".encode()
_UNSUPPORTED = b"""<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<Error><Type>Sender</Type><Code>InvalidAction</Code>
<Message>the plan gate's offline STS answers GetCallerIdentity only</Message></Error>
<RequestId>00000000-0000-4000-8000-000000000000</RequestId>
</ErrorResponse>
"""


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        if form.get("Action") == ["GetCallerIdentity"]:
            self._reply(200, _IDENTITY)
        else:
            self._reply(400, _UNSUPPORTED)

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the provider's requests are not the test's output."""


class OfflineSts:
    """`with OfflineSts() as sts:` serves on `sts.url` (127.0.0.1, a free port) until exit."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        # Leaving the `with` waits for the loop's next poll: 0.5 s by default.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> OfflineSts:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
