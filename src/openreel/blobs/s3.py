"""BlobStore on any S3-compatible store (AWS, MinIO, Ceph RGW, R2, ...) through boto3.

Configured by ``OPENREEL_BLOBS=s3://bucket/prefix`` (plus ``OPENREEL_S3_ENDPOINT_URL`` for a
store other than AWS); credentials come from boto3's standard chain (``AWS_ACCESS_KEY_ID``
and friends, ``~/.aws``, instance roles). Large files are uploaded in parts. Result links are
presigned GET URLs, computed locally (no request) on every task query, so clients download
straight from the store and the API nodes never proxy video bytes.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIB = 1024 * 1024
CONTENT_TYPES = {".mp4": "video/mp4", ".png": "image/png", ".jpg": "image/jpeg"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (``bucket``, ``some/prefix``)."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


class S3BlobStore:
    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: Literal["auto", "path", "virtual"] = "auto",
        url_ttl_seconds: int = 86400,
        multipart_threshold: int = 64 * MIB,
        multipart_chunk: int = 16 * MIB,
    ) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.url_ttl_seconds = url_ttl_seconds
        self.client: S3Client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(signature_version="s3v4", s3={"addressing_style": addressing_style}),
        )
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold, multipart_chunksize=multipart_chunk
        )

    def _key(self, key: str) -> str:
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or any(p in ("..", ".", "") for p in parts):
            raise ValueError(f"invalid blob key {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    @staticmethod
    def _content_type(key: str) -> str:
        suffix = PurePosixPath(key).suffix.lower()
        return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "binary/octet-stream"

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=self._content_type(key)
        )

    def put_file(self, key: str, source: Path) -> None:
        # An object appears whole or not at all (also for multipart: the final complete call).
        self.client.upload_file(
            str(source),
            self.bucket,
            self._key(key),
            ExtraArgs={"ContentType": self._content_type(key)},
            Config=self.transfer,
        )

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        except ValueError:
            return False
        return True

    def materialize(self, key: str, work_dir: Path) -> Path:
        target = work_dir.joinpath("blobs", *PurePosixPath(key).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.client.download_file(self.bucket, self._key(key), str(target), Config=self.transfer)
        return target

    def delete_prefix(self, prefix: str) -> None:
        full = self._key(prefix.rstrip("/"))
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            keys = [
                obj["Key"]
                for obj in page.get("Contents", [])
                if obj["Key"] == full or obj["Key"].startswith(full + "/")
            ]
            if keys:
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
                )

    def url(self, base_url: str, key: str) -> str:
        """A presigned GET URL (``base_url`` is unused: the store serves the file)."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key)},
            ExpiresIn=self.url_ttl_seconds,
        )
