"""The local S3-compatible server for the object storage tests (tests/s3server.py)."""

from tests.s3server import s3_endpoint, s3_settings  # noqa: F401  (fixtures)
