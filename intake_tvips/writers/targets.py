"""Where parallel tasks write a file of known size: pieces at computed offsets, in order.

A target is a picklable recipe (paths, URLs, storage options, an upload id): tasks carry
it and call :meth:`put` for their piece; the client calls :meth:`begin` before and
:meth:`finish` (with the head, the bytes before the first piece) or :meth:`abort` after.

* :class:`LocalTarget`: a local path. The file is preallocated under a temporary name,
  every piece is ``os.pwrite`` at its offset, the head last; then renamed (all or nothing).
* :class:`S3Target`: ``s3://`` through s3fs. One multipart upload: piece ``k`` is part
  ``k + 1``; piece 0 is handed back to the client, which uploads it behind the head as
  part 1 at the end (the head is known only when every piece is done). Every piece but
  the last must hold at least :data:`S3_MIN_PART` bytes (S3's rule), which the caller
  ensures by its choice of pieces.
* :class:`StagedTarget`: any other fsspec URL: a :class:`LocalTarget` in a local
  temporary folder, uploaded with ``put_file`` at the end (the workers must share the
  client's local disk: threads or a LocalCluster).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field

from intake_tvips.storage.filesystem import S3_PROTOCOLS, FileSystemSpec, resolve

#: S3's smallest part (all parts but the last)
S3_MIN_PART = 5 * 2**20
#: S3's most parts in one upload
S3_MAX_PARTS = 10_000


@dataclass
class LocalTarget:
    """A local file written by ``os.pwrite`` at offsets (see the module's docstring)."""

    path: str
    temp: str = ""
    min_piece: int = 0

    def begin(self, size: int, overwrite: bool) -> None:
        if os.path.exists(self.path) and not overwrite:
            raise FileExistsError(f"{self.path} exists; pass overwrite=True to replace it")
        folder, name = os.path.split(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        self.temp = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:8]}.writing")
        with open(self.temp, "wb") as f:
            f.truncate(size)

    def put(self, index: int, offset: int, data) -> None:
        fd = os.open(self.temp, os.O_WRONLY)
        try:
            view = memoryview(data).cast("B")
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
        finally:
            os.close(fd)

    def finish(self, head: bytes, receipts: list) -> None:
        self.put(-1, 0, head)
        os.replace(self.temp, self.path)

    def abort(self) -> None:
        if self.temp and os.path.exists(self.temp):
            os.remove(self.temp)


@dataclass
class S3Target:
    """An S3 object written as one multipart upload (see the module's docstring)."""

    fs_spec: FileSystemSpec
    path: str
    upload_id: str = ""
    min_piece: int = S3_MIN_PART

    def _bucket_key(self) -> tuple[str, str]:
        bucket, _, key = self.path.partition("/")
        return bucket, key

    def begin(self, size: int, overwrite: bool) -> None:
        fs = self.fs_spec.filesystem()
        if not overwrite and fs.exists(self.path):
            raise FileExistsError(f"s3://{self.path} exists; pass overwrite=True to replace it")
        bucket, key = self._bucket_key()
        self.upload_id = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]

    def put(self, index: int, offset: int, data):
        if index == 0:  # uploaded behind the head, as part 1, by finish()
            return bytes(memoryview(data).cast("B"))
        return self._upload(index + 1, memoryview(data).cast("B"))

    def _upload(self, number: int, body) -> dict:
        bucket, key = self._bucket_key()
        fs = self.fs_spec.filesystem()
        reply = fs.call_s3(
            "upload_part",
            Bucket=bucket,
            Key=key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=bytes(body),
        )
        return {"PartNumber": number, "ETag": reply["ETag"]}

    def finish(self, head: bytes, receipts: list) -> None:
        first = head + (receipts[0] or b"")
        parts = [self._upload(1, first)] + [r for r in receipts[1:] if r]
        bucket, key = self._bucket_key()
        fs = self.fs_spec.filesystem()
        fs.call_s3(
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": sorted(parts, key=lambda p: p["PartNumber"])},
        )
        fs.invalidate_cache(self.path)

    def abort(self) -> None:
        if self.upload_id:
            bucket, key = self._bucket_key()
            self.fs_spec.filesystem().call_s3(
                "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=self.upload_id
            )


@dataclass
class StagedTarget:
    """Any fsspec URL: written locally, then uploaded (see the module's docstring)."""

    fs_spec: FileSystemSpec
    path: str
    local: LocalTarget = field(default_factory=lambda: LocalTarget(""))
    min_piece: int = 0

    def begin(self, size: int, overwrite: bool) -> None:
        if not overwrite and self.fs_spec.filesystem().exists(self.path):
            raise FileExistsError(f"{self.path} exists; pass overwrite=True to replace it")
        folder = tempfile.mkdtemp(prefix="intake-tvips-")
        self.local = LocalTarget(os.path.join(folder, os.path.basename(self.path) or "out"))
        self.local.begin(size, True)

    def put(self, index: int, offset: int, data) -> None:
        self.local.put(index, offset, data)

    def finish(self, head: bytes, receipts: list) -> None:
        self.local.finish(head, receipts)
        try:
            self.fs_spec.filesystem().put_file(self.local.path, self.path)
        finally:
            shutil.rmtree(os.path.dirname(self.local.path), ignore_errors=True)

    def abort(self) -> None:
        self.local.abort()
        shutil.rmtree(os.path.dirname(self.local.path) or "/nonexistent", ignore_errors=True)


def target_for(out, storage_options: dict | None):
    """The target for ``out``: a local path, an ``s3://`` URL, or any other fsspec URL."""
    fs, path = resolve(out, storage_options)
    spec = FileSystemSpec.from_fs(fs)
    if spec.is_local:
        return LocalTarget(path)
    if spec.protocol in S3_PROTOCOLS:
        return S3Target(spec, path)
    return StagedTarget(spec, path)
