"""The encrypted envelope of a backup file: a fixed header, then the archive in AES-256-GCM chunks.

Chunks follow the STREAM construction (Hoang, Reyhanitabar, Rogaway and Vizár, 2015): each chunk's nonce is a
random prefix, the chunk's number and a flag set on the last chunk only, and every chunk authenticates the
header as associated data. A changed byte, a reordered or dropped chunk and a file cut short all fail a tag,
and the archive never has to fit in memory. The key is derived from a secret (a passphrase or a random token)
with scrypt; a key-check value in the header tells a wrong key apart from a damaged file. docs/backup.md
describes the layout byte by byte.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"CDBACKUP"
ENVELOPE_VERSION = 1
KDF_SCRYPT = 1
# scrypt cost: 2**15 x 8 x 128 bytes = 32 MiB of memory and about a tenth of a second, once per file.
SCRYPT_LOG2_N = 15
SCRYPT_R = 8
SCRYPT_P = 1
CHUNK_SIZE = 1024 * 1024
TAG_SIZE = 16
SALT_SIZE = 16
PREFIX_SIZE = 7
CHECK_SIZE = 32
# magic, version, kdf, log2(n), r, p, chunk size, salt, nonce prefix; then the key check over all of these.
_FIELDS = struct.Struct(f">8sBBBBBI{SALT_SIZE}s{PREFIX_SIZE}s")
HEADER_SIZE = _FIELDS.size + CHECK_SIZE
MIN_SECRET_CHARS = 16
# The largest chunk a reader accepts, whatever the header says: a damaged header must not allocate gigabytes.
MAX_CHUNK_SIZE = 64 * 1024 * 1024


class BackupFileError(Exception):
    """The file cannot be opened or read back: not a backup, wrong key, damaged or cut short. The message says which."""


@dataclass(frozen=True)
class _Keys:
    encryption: bytes
    check: bytes


def _derive(secret: bytes, salt: bytes, log2_n: int, r: int, p: int) -> _Keys:
    material = Scrypt(salt=salt, length=64, n=2**log2_n, r=r, p=p).derive(secret)
    return _Keys(encryption=material[:32], check=material[32:])


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= 2**32:
        raise BackupFileError("The archive is too large for one backup file (more than 2^32 chunks).")
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def secret_check(secret: bytes) -> None:
    """Refuse a secret too short to protect patient records (a backup made with it could be opened by guessing)."""
    if len(secret.strip()) < MIN_SECRET_CHARS:
        raise BackupFileError(
            f"The backup key is too short ({len(secret.strip())} characters); use at least {MIN_SECRET_CHARS}, "
            "for example the output of: python -c \"import secrets; print(secrets.token_urlsafe(32))\"")


class EncryptingWriter:
    """A write-only file object: what is written goes to `out` encrypted, one chunk per CHUNK_SIZE bytes.

    `close()` writes the last chunk (possibly empty), without which the file reads as cut short; it does not close
    `out`.
    """

    def __init__(self, out: BinaryIO, secret: bytes, *, chunk_size: int = CHUNK_SIZE):
        salt = os.urandom(SALT_SIZE)
        self._prefix = os.urandom(PREFIX_SIZE)
        keys = _derive(secret, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
        fields = _FIELDS.pack(MAGIC, ENVELOPE_VERSION, KDF_SCRYPT, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, chunk_size, salt,
                              self._prefix)
        self._header = fields + hmac.new(keys.check, fields, hashlib.sha256).digest()
        self._aead = AESGCM(keys.encryption)
        self._out = out
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._counter = 0
        self.closed = False
        out.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to a closed backup file")
        self._buffer += data
        while len(self._buffer) > self._chunk_size:
            self._seal(bytes(self._buffer[: self._chunk_size]), last=False)
            del self._buffer[: self._chunk_size]
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def _seal(self, plain: bytes, *, last: bool) -> None:
        nonce = _nonce(self._prefix, self._counter, last)
        self._out.write(self._aead.encrypt(nonce, plain, self._header))
        self._counter += 1

    def close(self) -> None:
        if self.closed:
            return
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self.closed = True
        self._out.flush()


class DecryptingReader:
    """A read-only file object over an encrypted backup: checks the header and the key at once, then each chunk's tag
    as it is read. Raises BackupFileError naming the problem; never returns a byte that was not authenticated."""

    def __init__(self, source: BinaryIO, secret: bytes):
        header = source.read(HEADER_SIZE)
        if len(header) < len(MAGIC) or header[: len(MAGIC)] != MAGIC:
            raise BackupFileError("This is not a clinicdesk backup file (its first bytes are not the backup header).")
        if len(header) < HEADER_SIZE:
            raise BackupFileError("The backup file is cut short: it ends inside its header.")
        fields, check = header[: _FIELDS.size], header[_FIELDS.size:]
        _, version, kdf, log2_n, r, p, chunk_size, salt, prefix = _FIELDS.unpack(fields)
        if version != ENVELOPE_VERSION:
            raise BackupFileError(f"The backup file has envelope version {version}; this clinicdesk reads version "
                                  f"{ENVELOPE_VERSION} only (restore it with the clinicdesk release that made it).")
        if kdf != KDF_SCRYPT or not (10 <= log2_n <= 22) or not (1 <= r <= 32) or not (1 <= p <= 16) or not (
                1 <= chunk_size <= MAX_CHUNK_SIZE):
            raise BackupFileError("The backup file's header is damaged (its key derivation settings are not valid).")
        keys = _derive(secret, salt, log2_n, r, p)
        if not hmac.compare_digest(hmac.new(keys.check, fields, hashlib.sha256).digest(), check):
            raise BackupFileError("The key does not open this backup: wrong key (or the file's header is damaged).")
        self._source = source
        self._header = header
        self._aead = AESGCM(keys.encryption)
        self._prefix = prefix
        self._sealed_size = chunk_size + TAG_SIZE
        self._counter = 0
        self._pending = source.read(self._sealed_size)
        self._plain = b""
        self._position = 0
        self._finished = False
        self.closed = False

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bytes:
        sealed = self._pending
        self._pending = self._source.read(self._sealed_size)
        last = not self._pending
        offset = HEADER_SIZE + self._counter * self._sealed_size
        if len(sealed) < TAG_SIZE:
            raise BackupFileError(f"The backup file is cut short: it ends at byte {offset + len(sealed)}, inside a "
                                  "chunk, before its last chunk.")
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), sealed, self._header)
        except InvalidTag:
            if last:
                raise BackupFileError(
                    f"The backup file is damaged or cut short: its chunk at byte {offset} fails its check, and no "
                    "complete last chunk follows.") from None
            raise BackupFileError(f"The backup file is damaged: its chunk at byte {offset} fails its check "
                                  "(a changed byte).") from None
        self._counter += 1
        if last:
            self._finished = True
        return plain

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size if size is not None and size >= 0 else None
        got = 0
        while wanted is None or got < wanted:
            if self._position >= len(self._plain):
                if self._finished:
                    break
                self._plain, self._position = self._next_chunk(), 0
                continue
            take = len(self._plain) - self._position if wanted is None else min(wanted - got,
                                                                                len(self._plain) - self._position)
            parts.append(self._plain[self._position:self._position + take])
            self._position += take
            got += take
        return b"".join(parts)

    def close(self) -> None:
        self.closed = True
