"""Presigns S3 GET URLs with botocore, the reference agentdl's `signing = "s3"` must match.

Reads a JSON list of requests on stdin and prints one presigned URL per request,
one per line, in order. Each request is an object:

    {"endpoint_url": "http://127.0.0.1:9000",  # or null: AWS's own endpoint for the region
     "addressing_style": "path",               # or "virtual"
     "region": "us-east-1",
     "bucket": "examplebucket", "key": "dir/Agent Setup.msi",
     "access_key_id": "AKIA...", "secret_access_key": "...",
     "session_token": null,                    # or the token
     "expires": 86400,                         # seconds
     "now": "2013-05-24T00:00:00Z",            # the clock botocore signs with
     "content_disposition": null}              # or the value of response-content-disposition

The clock is fixed per request: botocore up to 1.31 reads it with
`datetime.datetime.utcnow()` in botocore.auth, later ones with
`botocore.auth.get_current_datetime()`; either is replaced. No configuration
or credentials of the machine are read: everything comes from the request.

Run it with Debian's interpreter (/usr/bin/python3), which has python3-botocore:

    echo '[{...}]' | /usr/bin/python3 tests/blackbox/botocore_presign.py
"""

import datetime
import json
import os
import sys

# Nothing from the machine's AWS configuration may steer botocore.
for _name in list(os.environ):
    if _name.startswith("AWS_"):
        del os.environ[_name]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

import botocore.auth  # noqa: E402
import botocore.config  # noqa: E402
import botocore.session  # noqa: E402

_now = None  # the fixed time, a naive UTC datetime


class _FixedDatetime(datetime.datetime):
    """datetime.datetime whose utcnow() (and now()) is the fixed time."""

    @classmethod
    def utcnow(cls):
        return cls._fixed()

    @classmethod
    def now(cls, tz=None):
        if tz is None:
            return cls._fixed()
        return cls._fixed().replace(tzinfo=datetime.timezone.utc).astimezone(tz)

    @classmethod
    def _fixed(cls):
        if _now is None:
            raise RuntimeError("the clock is not set")
        return cls(_now.year, _now.month, _now.day, _now.hour, _now.minute, _now.second)


def _fixed_current_datetime(remove_tzinfo=True):
    """Stands in for botocore.compat.get_current_datetime (botocore >= 1.32)."""
    now = _FixedDatetime.utcnow()
    return now if remove_tzinfo else now.replace(tzinfo=datetime.timezone.utc)


def _fix_clock():
    """Fixes the clock botocore.auth signs with to `_now`."""
    if hasattr(botocore.auth, "get_current_datetime"):  # botocore >= 1.32
        botocore.auth.get_current_datetime = _fixed_current_datetime
    else:  # botocore <= 1.31: datetime.datetime.utcnow()
        botocore.auth.datetime.datetime = _FixedDatetime


def parse_time(text):
    """Returns the naive UTC datetime of an RFC 3339 time such as 2013-05-24T00:00:00Z."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


_clients = {}


def client_for(session, request):
    """Returns an S3 client for the request's endpoint, region and credentials (cached)."""
    key = tuple(request.get(name) for name in (
        "endpoint_url", "addressing_style", "region", "access_key_id", "secret_access_key",
        "session_token"))
    if key not in _clients:
        _clients[key] = _make_client(session, request)
    return _clients[key]


def _make_client(session, request):
    config = botocore.config.Config(
        signature_version="s3v4",
        s3={"addressing_style": request["addressing_style"]},
        retries={"max_attempts": 0},
    )
    return session.create_client(
        "s3",
        region_name=request["region"],
        endpoint_url=request.get("endpoint_url"),
        aws_access_key_id=request["access_key_id"],
        aws_secret_access_key=request["secret_access_key"],
        aws_session_token=request.get("session_token"),
        config=config)


def presign(session, request):
    """Returns botocore's presigned GET URL for `request` (see the module's docstring)."""
    global _now
    client = client_for(session, request)
    params = {"Bucket": request["bucket"], "Key": request["key"]}
    if request.get("content_disposition") is not None:
        params["ResponseContentDisposition"] = request["content_disposition"]
    _now = parse_time(request["now"])
    return client.generate_presigned_url("get_object", Params=params,
                                         ExpiresIn=request["expires"])


def main():
    _fix_clock()
    requests = json.load(sys.stdin)
    session = botocore.session.Session()
    out = [presign(session, request) for request in requests]
    sys.stdout.write("".join(url + "\n" for url in out))


if __name__ == "__main__":
    main()
