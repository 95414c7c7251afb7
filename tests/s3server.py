"""A local S3-compatible server for the object storage tests: moto's server mode, on loopback only.

Import the fixtures into a test module (``from tests.s3server import s3_endpoint, s3_settings``); the server runs
once per test session in a thread, with one bucket; each test's municipality has keys of its own in it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from backend.settings import Settings

BUCKET = "rathaus-test"
PREFIX = "uploads"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client(endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_settings(settings: Settings, s3_endpoint: str) -> Settings:
    """The test settings with uploads in the bucket (same database, same data folder)."""
    return replace(
        settings,
        storage_url=f"s3://{BUCKET}/{PREFIX}",
        s3_endpoint=s3_endpoint,
        s3_region=CREDENTIALS["region_name"],
        s3_access_key_id=CREDENTIALS["aws_access_key_id"],
        s3_secret_access_key=CREDENTIALS["aws_secret_access_key"],
    ).with_defaults()


def client(endpoint: str) -> Any:
    """A plain S3 client, to look into the bucket from outside the app."""
    return boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS)


def stored_keys(endpoint: str, under: str) -> list[str]:
    """The object keys in the bucket below ``<prefix>/<under>``."""
    found = client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/{under}")
    return sorted(item["Key"] for item in found.get("Contents", []))
