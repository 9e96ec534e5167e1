"""DynamoDB operations on the database: one function per operation, each in one transaction.

Expressions, validation and key encoding come from the pure :mod:`.logic` package; this
module decides which rows to read and lock. Writes that depend on the current item lock its
row (``select_for_update``) so concurrent conditional writes and ``ADD`` counters never lose
an update; an insert that races another insert of the same key hits the unique index, and
is retried once against the row the other writer committed.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import math
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.cloud.core.prepared import PreparedStatement, numbered
from serverless_lab.cloud.esm import hooks as esm_hooks
from serverless_lab.sandboxes.models import Sandbox

from . import logic
from .exceptions import (
    ConditionalCheckFailedException,
    DynamoValidationError,
    IdempotentParameterMismatchException,
    ResourceInUseException,
    ResourceNotFoundException,
    TransactionCanceledException,
)
from .logic import ExpressionContext, KeySchema, Projection
from .models import IndexEntry, Item, StreamRecord, Table, TransactionToken

Doc = dict[str, Any]  # an item or attribute map in wire form
T = TypeVar("T")

PAGE_BYTES = 1024 * 1024
MAX_BATCH_GET = 100
MAX_BATCH_WRITE = 25
MAX_TRANSACT_ITEMS = 100
TOKEN_LIFETIME = timedelta(minutes=10)
TTL_SWEEP_INTERVAL = 60
_CHUNK = 500
_SHARDS = 2**32
_TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}\Z")
_INDEX_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}\Z")
_INVALID = "One or more parameter values were invalid: "


# --- item storage ---------------------------------------------------------------------------


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _binary_hook(value: dict[str, Any]) -> dict[str, Any]:
    # A map's members are always attribute values (dicts), so a one-key dict whose "B" is a
    # string, or whose "BS" is a list, is a binary value.
    if len(value) == 1:
        b = value.get("B")
        if isinstance(b, str):
            return {"B": base64.b64decode(b)}
        bs = value.get("BS")
        if isinstance(bs, list):
            return {"BS": [base64.b64decode(m) for m in bs]}
    return value


def dump_item(item: Doc) -> str:
    """An item as JSON text, binary values base64-encoded."""
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=_b64)


def load_item(text: str) -> Doc:
    if '"B":"' in text or '"BS":[' in text:
        return json.loads(text, object_hook=_binary_hook)
    return json.loads(text)


# --- tables as the operations see them ------------------------------------------------------


@dataclass(frozen=True)
class Index:
    name: str
    schema: KeySchema
    projection: Doc  # {"ProjectionType": ..., "NonKeyAttributes"?: [...]}
    is_global: bool

    def project(self, item: Doc, table_schema: KeySchema) -> Doc:
        kind = self.projection.get("ProjectionType", "ALL")
        if kind == "ALL":
            return item
        keep = set(table_schema.names) | set(self.schema.names)
        if kind == "INCLUDE":
            keep |= set(self.projection.get("NonKeyAttributes", ()))
        return {name: value for name, value in item.items() if name in keep}


@dataclass
class TableView:
    """A table row with its key schemas parsed."""

    row: Table
    schema: KeySchema
    indexes: dict[str, Index]

    @property
    def name(self) -> str:
        return self.row.name

    def key_of(self, item: Doc) -> Doc:
        return {name: item[name] for name in self.schema.names}

    def encode(self, key: Doc) -> tuple[bytes, bytes]:
        sk = logic.encode_key_value(key[self.schema.range_key]) if self.schema.range_key else b""
        return logic.encode_key_value(key[self.schema.hash_key]), sk

    def expired(self, item: Doc, now: float) -> bool:
        expires = _expiry(self.row.ttl_attribute, item)
        return expires is not None and expires <= now


def _schema(key_schema: list[Doc], types: Mapping[str, str]) -> KeySchema:
    hash_key = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"), None)
    return KeySchema(hash_key, types[hash_key], range_key, types[range_key] if range_key else None)


def view(table: Table) -> TableView:
    types = {d["AttributeName"]: d["AttributeType"] for d in table.attribute_definitions}
    indexes = {
        index["IndexName"]: Index(
            index["IndexName"], _schema(index["KeySchema"], types), index["Projection"], is_global
        )
        for is_global, group in ((True, table.global_indexes), (False, table.local_indexes))
        for index in group
    }
    return TableView(table, _schema(table.key_schema, types), indexes)


def _table_name(sandbox: Sandbox, name: str) -> str:
    """TableName may also be the table's ARN (another account's ARN names no table of ours: "")."""
    if not name.startswith("arn:"):
        return name
    prefix = f"arn:aws:dynamodb:{sandbox.region}:{sandbox.account_id}:table/"
    return name[len(prefix) :] if name.startswith(prefix) else ""


@functools.cache
def _table_row_sql() -> str:
    q = connection.ops.quote_name
    columns = ", ".join(q(field.column) for field in Table._meta.concrete_fields)
    return f"SELECT {columns} FROM {q(Table._meta.db_table)} WHERE {q('sandbox_id')} = %s AND {q('name')} = %s"


def _table(sandbox: Sandbox, name: str) -> TableView:
    """The table, read in one plain query: the view built from the same row last time (parsing
    its schemas, and Django building the query) is reused while the row is unchanged. Each caller
    gets its own copy of the row, which some operations change and save."""
    name = _table_name(sandbox, name)
    with connection.cursor() as cursor:
        cursor.execute(_table_row_sql(), [sandbox.pk, name])
        values = cursor.fetchone()
    if values is None:
        raise ResourceNotFoundException()
    cached = _TABLES.get((sandbox.pk, name))
    if cached is not None and cached[0] == values:
        table = cached[1]
    else:
        try:
            table = view(Table.objects.get(sandbox=sandbox, name=name))
        except Table.DoesNotExist:
            raise ResourceNotFoundException() from None
        if len(_TABLES) >= _TABLE_CACHE:
            _TABLES.clear()
        _TABLES[(sandbox.pk, name)] = (values, table)
        if len(_KEY_SCHEMAS) >= _TABLE_CACHE:
            _KEY_SCHEMAS.clear()
        _KEY_SCHEMAS[(sandbox.pk, table.name)] = (table.row.pk, table.schema)
    return TableView(copy.copy(table.row), table.schema, table.indexes)


# (sandbox pk, table name) -> (the table's row as the database returned it, its view).
_TABLES: dict[tuple[int, str], tuple[tuple[Any, ...], TableView]] = {}


# (sandbox pk, table name) -> (table pk, key schema), for GetItem's one-query path. A table's key
# schema never changes and its name is never reused while it exists, so an item found under the
# cached table pk is an item of the current table; anything else goes the long way round.
_KEY_SCHEMAS: dict[tuple[int, str], tuple[int, KeySchema]] = {}
_TABLE_CACHE = 4096


def _sqlite_immediate() -> bool:
    """Whether every transaction takes SQLite's write lock at BEGIN (settings' IMMEDIATE mode): then
    no other writer can come between a transaction's read and its write."""
    return (
        connection.vendor == "sqlite"
        and connection.settings_dict.get("OPTIONS", {}).get("transaction_mode") == "IMMEDIATE"
    )


def table_arn(table: Table) -> str:
    return f"arn:aws:dynamodb:{table.sandbox.region}:{table.sandbox.account_id}:table/{table.name}"


def _expiry(ttl_attribute: str, item: Doc) -> int | None:
    if not ttl_attribute:
        return None
    value = item.get(ttl_attribute)
    if not value or "N" not in value:
        return None
    return int(max(min(Decimal(value["N"]), Decimal(2**62)), Decimal(-(2**62))))


def _shard(pk: bytes) -> int:
    return zlib.crc32(pk)


# --- consumed capacity ----------------------------------------------------------------------


@dataclass
class Capacity:
    """Capacity units one operation consumed on one table, split by index."""

    table_name: str
    table: float = 0.0
    global_indexes: dict[str, float] = field(default_factory=dict)
    local_indexes: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.table + sum(self.global_indexes.values()) + sum(self.local_indexes.values())

    def add_index(self, index: Index, units: float) -> None:
        target = self.global_indexes if index.is_global else self.local_indexes
        target[index.name] = target.get(index.name, 0.0) + units


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """4 KB per unit, half for eventually consistent reads, double inside a transaction."""
    units = float(max(1, math.ceil(size / 4096)))
    if transactional:
        return units * 2
    return units if consistent else units / 2


def write_units(size: int, *, transactional: bool = False) -> float:
    """1 KB per unit, double inside a transaction."""
    units = float(max(1, math.ceil(size / 1024)))
    return units * 2 if transactional else units


# --- writing rows ---------------------------------------------------------------------------


@dataclass
class _Slot:
    """One primary key's row, locked, and the item it holds (None: no item, or an expired one)."""

    key: Doc
    pk: bytes
    sk: bytes
    row: Item | None
    item: Doc | None


def _lock(table: TableView, key: Doc, now: float) -> _Slot:
    pk, sk = table.encode(key)
    row = Item.objects.select_for_update().filter(table=table.row, pkey=pk, skey=sk).first()
    item = load_item(row.data) if row is not None else None
    if item is not None and table.expired(item, now):
        item = None
    return _Slot(key, pk, sk, row, item)


def _index_entries(table: TableView, item: Doc, row: Item, pk: bytes, sk: bytes) -> list[IndexEntry]:
    entries = []
    for index in table.indexes.values():
        if all(name in item for name in index.schema.names):
            ipk, isk = (
                logic.encode_key_value(item[index.schema.hash_key]),
                logic.encode_key_value(item[index.schema.range_key]) if index.schema.range_key else b"",
            )
            entries.append(
                IndexEntry(
                    table=table.row, item=row, index_name=index.name, pkey=ipk, skey=isk, item_pkey=pk, item_skey=sk
                )
            )
    return entries


def _check_index_keys(table: TableView, item: Doc) -> None:
    for index in table.indexes.values():
        logic.validate_index_keys(item, index.name, index.schema)


def _store(
    table: TableView,
    slot: _Slot,
    new_item: Doc | None,
    capacity: Capacity,
    *,
    transactional: bool = False,
    by_ttl: bool = False,
) -> None:
    """Write ``new_item`` (None: delete) into ``slot``, with its index entries, and count the units."""
    old_size = logic.item_size(slot.item) if slot.item is not None else 0
    new_size = logic.item_size(new_item) if new_item is not None else 0
    capacity.table += write_units(max(old_size, new_size), transactional=transactional)
    for index in table.indexes.values():
        if any(i is not None and all(n in i for n in index.schema.names) for i in (slot.item, new_item)):
            capacity.add_index(index, write_units(max(old_size, new_size)))
    if stream_enabled(table.row) and slot.item != new_item:
        _record_change(table, slot.item, new_item, by_ttl=by_ttl)
    if new_item is None:
        if slot.row is not None:
            slot.row.delete()
            slot.row = None
        slot.item = None
        return
    data, expires = dump_item(new_item), _expiry(table.row.ttl_attribute, new_item)
    if slot.row is None:
        slot.row = Item.objects.create(
            table=table.row,
            pkey=slot.pk,
            skey=slot.sk,
            shard=_shard(slot.pk),
            data=data,
            size=new_size,
            expires=expires,
        )
    else:
        Item.objects.filter(pk=slot.row.pk).update(data=data, size=new_size, expires=expires)
        if table.indexes:
            IndexEntry.objects.filter(item=slot.row).delete()
    if table.indexes:
        IndexEntry.objects.bulk_create(_index_entries(table, new_item, slot.row, slot.pk, slot.sk))
    slot.item = new_item


@contextmanager
def _writing() -> Iterator[None]:
    """A write transaction. On SQLite it takes the database write lock first, as ``BEGIN IMMEDIATE``
    would: a transaction that read first and then tries to write fails at once with "database is
    locked" when another writer got in between, where waiting for the lock is what we want."""
    with transaction.atomic():
        if connection.vendor == "sqlite" and not _sqlite_immediate():
            with connection.cursor() as cursor:
                cursor.execute("UPDATE dynamodb_table SET id = id WHERE 0")
        yield


def _record_change(table: TableView, old: Doc | None, new: Doc | None, *, by_ttl: bool = False) -> None:
    """Append the change to the table's stream, with the images its StreamViewType asks for.

    A TTL deletion carries the ``userIdentity`` AWS marks them with."""
    view_type = table.row.stream_specification["StreamViewType"]  # type: ignore[index]
    current = new if new is not None else old
    assert current is not None
    record: Doc = {"Keys": table.key_of(current)}
    if new is not None and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["NewImage"] = new
    if old is not None and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["OldImage"] = old
    event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    size = sum(logic.item_size(image) for image in record.values())
    record["StreamViewType"] = view_type
    if by_ttl:
        record["userIdentity"] = TTL_IDENTITY
    StreamRecord.objects.create(
        table=table.row, label=table.row.stream_label, event_name=event, data=dump_item(record), size=size
    )
    esm_hooks.source_changed("dynamodb", table.row.pk)  # wakes Lambda event source mappings after commit


def _lock_streams(tables: Iterable[TableView]) -> None:
    """Lock the rows of the tables that have an enabled stream, in a fixed order, before any item row.

    Stream sequence numbers are row ids, handed out at insert time; holding the table's lock until
    commit makes them commit in id order, so a reader never skips a record that commits late.
    """
    streaming = sorted({t.row.pk for t in tables if stream_enabled(t.row)})
    for pk in streaming:
        Table.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True).first()


def _can_upsert(table: TableView) -> bool:
    """Whether an unconditional PutItem can skip the general write path: into a table with no
    stream to append to and no index entries to maintain."""
    return not table.indexes and not stream_enabled(table.row)


@functools.cache
def _upsert_sql() -> tuple[str, str, str]:
    """SQL to read an item's data; to insert or replace it; both in one (PostgreSQL)."""
    q = connection.ops.quote_name
    item = q(Item._meta.db_table)
    key = f"{q('table_id')} = %s AND {q('pkey')} = %s AND {q('skey')} = %s"
    columns = ", ".join(q(c) for c in ("table_id", "pkey", "skey", "shard", "data", "size", "expires"))
    updates = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in ("data", "size", "expires"))
    select = f"SELECT {q('data')} FROM {item} WHERE {key}"
    upsert = (
        f"INSERT INTO {item} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT ({q('table_id')}, {q('pkey')}, {q('skey')}) DO UPDATE SET {updates}"
    )
    return select, upsert, f"WITH old AS ({select}) {upsert} RETURNING (SELECT {q('data')} FROM old)"


@functools.cache
def _guarded_upsert_sql() -> str:
    """The upsert as one PostgreSQL statement that writes only while the table is still the one a
    cached view describes for it: the same id and TTL attribute, no index, no enabled stream."""
    q = connection.ops.quote_name
    select, upsert, _ = _upsert_sql()
    table = q(Table._meta.db_table)
    guard = (
        f"SELECT 1 FROM {table} WHERE {q('id')} = %s AND {q('ttl_attribute')} = %s "
        f"AND {q('global_indexes')} = '[]'::jsonb AND {q('local_indexes')} = '[]'::jsonb "
        f"AND NOT COALESCE(({q('stream_specification')} ->> 'StreamEnabled')::boolean, false)"
    )
    columns, _, rest = upsert.partition(" VALUES (%s, %s, %s, %s, %s, %s, %s) ")
    typed = "%s::bigint, %s::bytea, %s::bytea, %s::bigint, %s::text, %s::integer, %s::bigint"
    return (
        f"WITH t AS ({guard}), old AS ({select}) {columns} SELECT {typed} FROM t {rest} "
        f"RETURNING (SELECT {q('data')} FROM old)"
    )


# Run prepared (``core.prepared``): the guard's table id and TTL attribute, the old item's key, the new row.
_GUARDED_UPSERT = PreparedStatement(
    "lab_dynamodb_put",
    ("bigint", "text", "bigint", "bytea", "bytea", "bigint", "bytea", "bytea", "bigint", "text", "integer", "bigint"),
    lambda: numbered(_guarded_upsert_sql()),
)


def _put_into_known_table(sandbox: Sandbox, table_name: str, item: Doc, now: float) -> Capacity | None:
    """PutItem's quickest path, on PostgreSQL outside a transaction: into a table this process has
    read before (its view in ``_TABLES``), as one statement whose guard re-checks in the database
    what the view promised (no stream, no index, its TTL attribute), so not even the table is read.
    None when the path does not apply, or the guard found the table changed (or gone): then the
    caller goes the usual way with the table read afresh, which raises whatever error applies."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    cached = _TABLES.get((sandbox.pk, _table_name(sandbox, table_name)))
    if cached is None or not _can_upsert(cached[1]):
        return None
    table = cached[1]
    try:
        new_item = logic.validate_item(item, table.schema)
    except DynamoValidationError:
        return None  # perhaps against a table since deleted and made anew: ask the current one
    pk, sk = table.encode(table.key_of(new_item))
    data, size = dump_item(new_item), logic.item_size(new_item)
    params = [table.row.pk, table.row.ttl_attribute, table.row.pk, pk, sk]
    params += [table.row.pk, pk, sk, _shard(pk), data, size, _expiry(table.row.ttl_attribute, new_item)]
    try:
        with connection.cursor() as cursor:
            _GUARDED_UPSERT.execute(cursor, params)
            row = cursor.fetchone()
    except IntegrityError:  # the table was deleted meanwhile
        return None
    if row is None:
        return None
    capacity = Capacity(table.name)
    _count_replacing(table, row[0], size, now, capacity)
    return capacity


def _upsert(table: TableView, new_item: Doc, capacity: Capacity, now: float) -> None:
    """Insert or replace an item in one statement (on PostgreSQL, with the replaced item's data
    from a CTE in its RETURNING: one round trip, its own transaction outside an atomic block), where
    the general path takes a transaction, a locking read, a savepoint and a write. The replaced
    item is read (as of the statement's snapshot) only to size the write units: one written by a
    concurrent writer since is replaced without being counted, which only an unconditional put that
    returns nothing can afford."""
    pk, sk = table.encode(table.key_of(new_item))
    data, size = dump_item(new_item), logic.item_size(new_item)
    expires = _expiry(table.row.ttl_attribute, new_item)
    select, upsert, both = _upsert_sql()
    key, values = [table.row.pk, pk, sk], [table.row.pk, pk, sk, _shard(pk), data, size, expires]
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(both, key + values)
                (old_data,) = cursor.fetchone()
            else:  # SQLite's RETURNING would see the new row: read first, in a statement of its own
                cursor.execute(select, key)
                old_data = (cursor.fetchone() or (None,))[0]
                cursor.execute(upsert, values)
    except IntegrityError:  # the table was deleted since it was looked up
        raise ResourceNotFoundException() from None
    _count_replacing(table, old_data, size, now, capacity)


def _count_replacing(table: TableView, old_data: str | None, size: int, now: float, capacity: Capacity) -> None:
    """The write units of an upsert: of the larger of the replaced item (if live) and the new one."""
    old = load_item(old_data) if old_data is not None else None
    old_size = logic.item_size(old) if old is not None and not table.expired(old, now) else 0
    capacity.table += write_units(max(old_size, size))


def _with_insert_retry(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a savepoint; if it lost an insert race on the unique key, run it once more
    (its ``select_for_update`` then finds and locks the row the other writer committed).

    SQLite in IMMEDIATE mode has no such race (the transaction holds the write lock from its
    start), so there ``fn`` runs as it is, without the savepoint's two extra statements."""
    if _sqlite_immediate():
        return fn()
    try:
        with transaction.atomic():
            return fn()
    except IntegrityError:
        with transaction.atomic():
            return fn()


# --- expressions ----------------------------------------------------------------------------


@dataclass
class Expressions:
    """The expression parameters of one request (or one transaction item)."""

    names: Mapping[str, str] | None = None
    values: Mapping[str, Any] | None = None
    condition: str | None = None
    projection: str | None = None
    filter: str | None = None
    key_condition: str | None = None
    update: str | None = None
    attributes_to_get: Sequence[str] | None = None


@dataclass
class _Bound:
    context: ExpressionContext
    condition: logic.Condition | None = None
    projection: Projection | None = None
    filter: logic.Condition | None = None


def _bind(expressions: Expressions, *, done: bool = True) -> _Bound:
    """Compile the condition, filter and projection; ``done=False`` leaves the unused-placeholder
    check to the caller, which still has expressions to compile."""
    e = expressions
    if e.projection is not None and e.attributes_to_get is not None:
        raise DynamoValidationError(
            "Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
        )
    context = ExpressionContext(e.names, e.values)
    bound = _Bound(context)
    if e.condition is not None:
        bound.condition = context.condition(e.condition)
    if e.filter is not None:
        bound.filter = context.condition(e.filter, "FilterExpression")
    if e.projection is not None:
        bound.projection = context.projection(e.projection)
    elif e.attributes_to_get is not None:
        bound.projection = Projection(tuple((name,) for name in dict.fromkeys(e.attributes_to_get)))
    if done:
        context.check_unused()
    return bound


def _project(bound: _Bound, item: Doc) -> Doc:
    return bound.projection.apply(item) if bound.projection is not None else item


def _check_return_values(value: str, allowed: tuple[str, ...], message: str) -> None:
    if value not in allowed:
        raise DynamoValidationError(message)


# --- tables ---------------------------------------------------------------------------------


def _check_key_schema(key_schema: list[Doc], defined: Mapping[str, str]) -> None:
    kinds = [k.get("KeyType") for k in key_schema]
    if not 1 <= len(kinds) <= 2:
        raise DynamoValidationError(f"{_INVALID}Invalid KeySchema: The KeySchema must have one or two elements")
    if kinds[0] != "HASH":
        raise DynamoValidationError(f"{_INVALID}Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(kinds) == 2 and kinds[1] != "RANGE":
        raise DynamoValidationError(f"{_INVALID}Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
    names = [k["AttributeName"] for k in key_schema]
    if len(set(names)) != len(names):
        raise DynamoValidationError(
            f"{_INVALID}Both the Hash Key and the Range Key element in the KeySchema have the same name"
        )
    for name in names:
        if name not in defined:
            raise DynamoValidationError(
                f"{_INVALID}Some index key attributes are not defined in AttributeDefinitions. "
                f"Keys: [{', '.join(names)}], AttributeDefinitions: [{', '.join(defined)}]"
            )


def _check_projection(projection: Doc) -> Doc:
    kind = projection.get("ProjectionType", "ALL")
    if kind not in ("ALL", "KEYS_ONLY", "INCLUDE"):
        raise DynamoValidationError(f"{_INVALID}Unknown ProjectionType: {kind}")
    if kind == "INCLUDE" and not projection.get("NonKeyAttributes"):
        raise DynamoValidationError(f"{_INVALID}ProjectionType is INCLUDE, but NonKeyAttributes is not specified")
    if kind != "INCLUDE" and projection.get("NonKeyAttributes"):
        raise DynamoValidationError(f"{_INVALID}ProjectionType is {kind}, but NonKeyAttributes is specified")
    return {
        "ProjectionType": kind,
        **({"NonKeyAttributes": projection["NonKeyAttributes"]} if kind == "INCLUDE" else {}),
    }


def _check_throughput(billing_mode: str, throughput: Doc | None, what: str = "") -> Doc:
    if billing_mode == "PAY_PER_REQUEST":
        if throughput:
            raise DynamoValidationError(
                f"{_INVALID}Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"  # noqa: E501
            )
        return {}
    if not throughput:
        raise DynamoValidationError(
            f"{_INVALID}ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
        )
    for unit in ("ReadCapacityUnits", "WriteCapacityUnits"):
        if throughput.get(unit, 0) < 1:
            raise DynamoValidationError(f"{_INVALID}{unit} must be greater than 0{what}")
    return {
        "ReadCapacityUnits": throughput["ReadCapacityUnits"],
        "WriteCapacityUnits": throughput["WriteCapacityUnits"],
    }


def _new_gsi(index: Doc, defined: Mapping[str, str], billing_mode: str, existing: set[str]) -> Doc:
    name = index["IndexName"]
    if not _INDEX_NAME.match(name):
        raise DynamoValidationError(f"{_INVALID}Invalid index name: {name}")
    if name in existing:
        raise DynamoValidationError(f"{_INVALID}Duplicate index name: {name}")
    _check_key_schema(index["KeySchema"], defined)
    out = {"IndexName": name, "KeySchema": index["KeySchema"], "Projection": _check_projection(index["Projection"])}
    throughput = _check_throughput(billing_mode, index.get("ProvisionedThroughput"), f" for index {name}")
    if throughput:
        out["ProvisionedThroughput"] = throughput
    existing.add(name)
    return out


@_writing()
def create_table(
    *,
    sandbox: Sandbox,
    name: str,
    key_schema: list[Doc],
    attribute_definitions: list[Doc],
    global_indexes: list[Doc] | None = None,
    local_indexes: list[Doc] | None = None,
    billing_mode: str = "PROVISIONED",
    provisioned_throughput: Doc | None = None,
    stream_specification: Doc | None = None,
    tags: list[Doc] | None = None,
    deletion_protection: bool = False,
) -> Table:
    if not _TABLE_NAME.match(name):
        constraint = (
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
            if 3 <= len(name) <= 255
            else f"Member must have length {'greater than or equal to 3' if len(name) < 3 else 'less than or equal to 255'}"  # noqa: E501
        )
        raise DynamoValidationError(
            f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: {constraint}"
        )
    defined = {d["AttributeName"]: d["AttributeType"] for d in attribute_definitions}
    if len(defined) != len(attribute_definitions):
        raise DynamoValidationError(f"{_INVALID}Duplicate AttributeName in AttributeDefinitions")
    for attribute, kind in defined.items():
        if kind not in ("S", "N", "B"):
            raise DynamoValidationError(f"{_INVALID}Invalid AttributeType {kind} for attribute {attribute}")
    _check_key_schema(key_schema, defined)
    throughput = _check_throughput(billing_mode, provisioned_throughput)
    names: set[str] = set()
    gsis = [_new_gsi(index, defined, billing_mode, names) for index in global_indexes or ()]
    if len(gsis) > 20:
        raise DynamoValidationError(f"{_INVALID}GlobalSecondaryIndex count exceeds the per-table limit of 20")
    lsis = []
    table_schema = _schema(key_schema, defined)
    for index in local_indexes or ():
        lsi_name = index["IndexName"]
        _check_key_schema(index["KeySchema"], defined)
        lsi_schema = _schema(index["KeySchema"], defined)
        if table_schema.range_key is None:
            raise DynamoValidationError(
                f"{_INVALID}Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"  # noqa: E501
            )
        if lsi_schema.hash_key != table_schema.hash_key or lsi_schema.range_key is None:
            raise DynamoValidationError(
                f"{_INVALID}Index KeySchema does not have the same leading hash key as table KeySchema for index: {lsi_name}. index hash key: {lsi_schema.hash_key}, table hash key: {table_schema.hash_key}"  # noqa: E501
            )
        if lsi_name in names:
            raise DynamoValidationError(f"{_INVALID}Duplicate index name: {lsi_name}")
        names.add(lsi_name)
        lsis.append(
            {
                "IndexName": lsi_name,
                "KeySchema": index["KeySchema"],
                "Projection": _check_projection(index["Projection"]),
            }
        )
    if len(lsis) > 5:
        raise DynamoValidationError(f"{_INVALID}LocalSecondaryIndex count exceeds the per-table limit of 5")
    used = {k["AttributeName"] for group in [key_schema] + [i["KeySchema"] for i in gsis + lsis] for k in group}
    if used != set(defined):
        raise DynamoValidationError(
            f"{_INVALID}Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"  # noqa: E501
        )
    if Table.objects.filter(sandbox=sandbox, name=name).exists():
        raise ResourceInUseException(f"Table already exists: {name}")
    stream = _stream_specification(stream_specification)
    return Table.objects.create(
        sandbox=sandbox,
        name=name,
        key_schema=key_schema,
        attribute_definitions=attribute_definitions,
        global_indexes=gsis,
        local_indexes=lsis,
        billing_mode=billing_mode,
        provisioned_throughput=throughput,
        stream_specification=stream,
        stream_label=_stream_label() if stream else "",
        tags=_merge_tags([], tags or []),
        deletion_protection=deletion_protection,
    )


def stream_enabled(table: Table) -> bool:
    return bool(table.stream_specification and table.stream_specification.get("StreamEnabled"))


def _stream_label() -> str:
    now = timezone.now()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


def _stream_specification(spec: Doc | None) -> Doc | None:
    if not spec or not spec.get("StreamEnabled"):
        return None
    view_type = spec.get("StreamViewType")
    if view_type not in ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        raise DynamoValidationError(f"{_INVALID}You must specify a StreamViewType when enabling a stream")
    return {"StreamEnabled": True, "StreamViewType": view_type}


@dataclass
class TableState:
    """A table with the figures DescribeTable reports."""

    table: Table
    item_count: int
    size_bytes: int
    index_counts: dict[str, tuple[int, int]]  # index name -> (item count, bytes)


def _state(table: Table) -> TableState:
    totals = Item.objects.filter(table=table).aggregate(count=Count("id"), size=Sum("size"))
    index_counts = {
        row["index_name"]: (row["count"], row["size"] or 0)
        for row in IndexEntry.objects.filter(table=table)
        .values("index_name")
        .annotate(count=Count("id"), size=Sum("item__size"))
    }
    return TableState(table, totals["count"], totals["size"] or 0, index_counts)


def describe_table(*, sandbox: Sandbox, name: str) -> TableState:
    table = Table.objects.filter(sandbox=sandbox, name=_table_name(sandbox, name)).select_related("sandbox").first()
    if table is None:
        raise ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
    _sweep_expired_soon(table)
    return _state(table)


def list_tables(
    *, sandbox: Sandbox, exclusive_start: str | None = None, limit: int = 100
) -> tuple[list[str], str | None]:
    """Table names in order, and the last one returned when more follow."""
    if not 1 <= limit <= 100:
        raise DynamoValidationError(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 100"
        )
    tables = Table.objects.filter(sandbox=sandbox)
    if exclusive_start:
        tables = tables.filter(name__gt=exclusive_start)
    names = list(tables.order_by("name").values_list("name", flat=True)[: limit + 1])
    if len(names) > limit:
        return names[:limit], names[limit - 1]
    return names, None


@_writing()
def delete_table(*, sandbox: Sandbox, name: str) -> TableState:
    table = Table.objects.select_for_update().filter(sandbox=sandbox, name=_table_name(sandbox, name)).first()
    if table is None:
        raise ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
    if table.deletion_protection:
        raise DynamoValidationError(
            "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first."  # noqa: E501
        )
    state = _state(table)
    table.status = "DELETING"
    # Index entries reference items: delete them first so the cascade stays cheap.
    IndexEntry.objects.filter(table=table).delete()
    Item.objects.filter(table=table).delete()
    Table.objects.filter(pk=table.pk).delete()
    return state


@_writing()
def update_table(
    *,
    sandbox: Sandbox,
    name: str,
    attribute_definitions: list[Doc] | None = None,
    billing_mode: str | None = None,
    provisioned_throughput: Doc | None = None,
    index_updates: list[Doc] | None = None,
    stream_specification: Doc | None = None,
    deletion_protection: bool | None = None,
) -> TableState:
    table = (
        Table.objects.select_for_update()
        .filter(sandbox=sandbox, name=_table_name(sandbox, name))
        .select_related("sandbox")
        .first()
    )
    if table is None:
        raise ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
    if all(
        v is None
        for v in (
            attribute_definitions,
            billing_mode,
            provisioned_throughput,
            index_updates,
            stream_specification,
            deletion_protection,
        )
    ):
        raise DynamoValidationError(
            "1 validation error detected: At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
            "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"
        )
    if billing_mode is not None and billing_mode != table.billing_mode:
        table.billing_mode = billing_mode
        table.provisioned_throughput = _check_throughput(billing_mode, provisioned_throughput)
        for index in table.global_indexes:
            index.pop("ProvisionedThroughput", None)
            if billing_mode == "PROVISIONED":
                index["ProvisionedThroughput"] = dict(table.provisioned_throughput)
    elif provisioned_throughput is not None:
        table.provisioned_throughput = _check_throughput(table.billing_mode, provisioned_throughput)
    defined = {d["AttributeName"]: d["AttributeType"] for d in table.attribute_definitions}
    for definition in attribute_definitions or ():
        known = defined.get(definition["AttributeName"])
        if known is not None and known != definition["AttributeType"]:
            raise DynamoValidationError(f"{_INVALID}Cannot change the type of attribute {definition['AttributeName']}")
        defined[definition["AttributeName"]] = definition["AttributeType"]
    names = {i["IndexName"] for i in table.global_indexes + table.local_indexes}
    created: list[str] = []
    for update in index_updates or ():
        if "Create" in update:
            table.global_indexes.append(_new_gsi(update["Create"], defined, table.billing_mode, names))
            created.append(update["Create"]["IndexName"])
        elif "Delete" in update:
            index_name = update["Delete"]["IndexName"]
            if index_name not in {i["IndexName"] for i in table.global_indexes}:
                raise ResourceNotFoundException(f"Requested resource not found: Index: {index_name} not found")
            table.global_indexes = [i for i in table.global_indexes if i["IndexName"] != index_name]
            IndexEntry.objects.filter(table=table, index_name=index_name).delete()
        elif "Update" in update:
            index_name = update["Update"]["IndexName"]
            index = next((i for i in table.global_indexes if i["IndexName"] == index_name), None)
            if index is None:
                raise ResourceNotFoundException(f"Requested resource not found: Index: {index_name} not found")
            index["ProvisionedThroughput"] = _check_throughput(
                table.billing_mode, update["Update"].get("ProvisionedThroughput")
            )
    used = {
        k["AttributeName"]
        for group in [table.key_schema] + [i["KeySchema"] for i in table.global_indexes + table.local_indexes]
        for k in group
    }
    table.attribute_definitions = [{"AttributeName": n, "AttributeType": t} for n, t in defined.items() if n in used]
    if stream_specification is not None:
        stream = _stream_specification(stream_specification)
        if stream and stream_enabled(table):
            raise DynamoValidationError(f"Table already has an enabled stream: {stream_arn(table)}")
        if not stream and not stream_enabled(table):
            raise DynamoValidationError("Table already has no stream enabled")
        if stream:
            table.stream_specification, table.stream_label = stream, _stream_label()
        else:
            table.stream_specification = {**table.stream_specification, "StreamEnabled": False}
    if deletion_protection is not None:
        table.deletion_protection = deletion_protection
    table.save()
    if created:
        _backfill(view(table), created)
    return _state(table)


def _backfill(table: TableView, index_names: list[str]) -> None:
    """Index every existing item that has a new index's key attributes of the right types."""
    indexes = [table.indexes[name] for name in index_names]
    entries: list[IndexEntry] = []
    for row in Item.objects.filter(table=table.row).only("id", "pkey", "skey", "data").iterator(chunk_size=_CHUNK):
        item = load_item(row.data)
        for index in indexes:
            attributes = index.schema.attributes()
            if all(name in item and logic.types.type_of(item[name]) == kind for name, kind in attributes):
                ipk = logic.encode_key_value(item[index.schema.hash_key])
                isk = logic.encode_key_value(item[index.schema.range_key]) if index.schema.range_key else b""
                entries.append(
                    IndexEntry(
                        table=table.row,
                        item=row,
                        index_name=index.name,
                        pkey=ipk,
                        skey=isk,
                        item_pkey=bytes(row.pkey),
                        item_skey=bytes(row.skey),
                    )
                )
        if len(entries) >= _CHUNK:
            IndexEntry.objects.bulk_create(entries)
            entries = []
    IndexEntry.objects.bulk_create(entries)


# --- tags and TTL ---------------------------------------------------------------------------


def _table_by_arn(sandbox: Sandbox, arn: str) -> Table:
    parts = arn.split(":", 5)
    table = None
    if len(parts) == 6 and parts[2] == "dynamodb" and parts[4] == sandbox.account_id and parts[5].startswith("table/"):
        table = Table.objects.filter(sandbox=sandbox, name=parts[5][len("table/") :]).first()
    if table is None:
        raise ResourceNotFoundException(f"Requested resource not found: ResourcArn: {arn} not found")
    return table


def _merge_tags(current: list[Doc], new: list[Doc]) -> list[Doc]:
    tags = {t["Key"]: t["Value"] for t in current}
    for tag in new:
        if not 1 <= len(tag.get("Key", "")) <= 128:
            raise DynamoValidationError(
                "1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"  # noqa: E501
            )
        tags[tag["Key"]] = tag["Value"]
    if len(tags) > 50:
        raise DynamoValidationError("The number of tags on the resource exceeds the limit of 50")
    return [{"Key": k, "Value": v} for k, v in tags.items()]


@_writing()
def tag_resource(*, sandbox: Sandbox, arn: str, tags: list[Doc]) -> None:
    table = _table_by_arn(sandbox, arn)
    table.tags = _merge_tags(table.tags, tags)
    table.save(update_fields=["tags"])


@_writing()
def untag_resource(*, sandbox: Sandbox, arn: str, keys: list[str]) -> None:
    table = _table_by_arn(sandbox, arn)
    table.tags = [t for t in table.tags if t["Key"] not in set(keys)]
    table.save(update_fields=["tags"])


def list_tags_of_resource(*, sandbox: Sandbox, arn: str) -> list[Doc]:
    return list(_table_by_arn(sandbox, arn).tags)


@_writing()
def update_time_to_live(*, sandbox: Sandbox, name: str, enabled: bool, attribute: str) -> None:
    table = _table(sandbox, name).row
    if enabled and table.ttl_attribute:
        raise DynamoValidationError("TimeToLive is already enabled")
    if not enabled and not table.ttl_attribute:
        raise DynamoValidationError("TimeToLive is already disabled")
    if not enabled and attribute != table.ttl_attribute:
        raise DynamoValidationError(
            f"{_INVALID}TimeToLive AttributeName {attribute} does not match the current TimeToLive AttributeName {table.ttl_attribute}"  # noqa: E501
        )
    if not attribute:
        raise DynamoValidationError(
            "1 validation error detected: Value '' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length greater than or equal to 1"  # noqa: E501
        )
    table.ttl_attribute = attribute if enabled else ""
    table.save(update_fields=["ttl_attribute"])
    rows = list(Item.objects.filter(table=table).only("id", "data", "expires"))
    for row in rows:
        row.expires = _expiry(table.ttl_attribute, load_item(row.data))
    Item.objects.bulk_update(rows, ["expires"], batch_size=_CHUNK)
    _sweep_expired_soon(table)


def describe_time_to_live(*, sandbox: Sandbox, name: str) -> str:
    """The TTL attribute name, "" when TTL is disabled."""
    return _table(sandbox, name).row.ttl_attribute


def delete_expired_items(*, sandbox: Sandbox, table_name: str, batch: int = 500) -> int:
    """Delete up to ``batch`` items whose TTL has passed (with their stream REMOVE records).

    Reads already hide expired items; this reclaims them, as AWS's background TTL process does.
    Returns how many were deleted.
    """
    now = time.time()
    with _writing():
        table = _table(sandbox, table_name)
        if not table.row.ttl_attribute:
            return 0
        _lock_streams([table])
        rows = list(Item.objects.select_for_update().filter(table=table.row, expires__lte=now)[:batch])
        capacity = Capacity(table.name)
        for row in rows:
            slot = _Slot({}, bytes(row.pkey), bytes(row.skey), row, load_item(row.data))
            _store(table, slot, None, capacity, by_ttl=True)
    return len(rows)


def _sweep_expired_soon(table: Table) -> None:
    """Queue a TTL sweep of the table (after commit), at most once a minute per table."""
    if table.ttl_attribute and cache.add(f"dynamodb-ttl-sweep:{table.table_id}", 1, timeout=TTL_SWEEP_INTERVAL):
        from .tasks import delete_expired_items as task

        transaction.on_commit(lambda: task.delay(table.sandbox_id, table.name))


# --- single items ---------------------------------------------------------------------------


@dataclass
class WriteResult:
    attributes: Doc | None
    capacity: Capacity


@dataclass
class ReadResult:
    item: Doc | None
    capacity: Capacity


def _failed(item: Doc | None, return_on_failure: str) -> ConditionalCheckFailedException:
    return ConditionalCheckFailedException(item if return_on_failure == "ALL_OLD" else None)


def _check_return_on_failure(value: str) -> None:
    _check_return_values(
        value,
        ("NONE", "ALL_OLD"),
        f"1 validation error detected: Value '{value}' at 'returnValuesOnConditionCheckFailure' failed to satisfy "
        "constraint: Member must satisfy enum value set: [ALL_OLD, NONE]",
    )


def put_item(
    *,
    sandbox: Sandbox,
    table_name: str,
    item: Doc,
    expressions: Expressions | None = None,
    return_values: str = "NONE",
    return_on_failure: str = "NONE",
) -> WriteResult:
    _check_return_values(return_values, ("NONE", "ALL_OLD"), "Return values set to invalid value")
    _check_return_on_failure(return_on_failure)
    bound = _bind(expressions or Expressions())
    now = time.time()
    if bound.condition is None and return_values == "NONE":
        done = _put_into_known_table(sandbox, table_name, item, now)
        if done is not None:
            return WriteResult(None, done)
    table = _table(sandbox, table_name)
    new_item = logic.validate_item(item, table.schema)
    _check_index_keys(table, new_item)
    capacity = Capacity(table.name)
    if bound.condition is None and return_values == "NONE" and _can_upsert(table):
        _upsert(table, new_item, capacity, now)
        return WriteResult(None, capacity)
    with _writing():
        _lock_streams([table])

        def attempt() -> Doc | None:
            slot = _lock(table, table.key_of(new_item), now)
            if bound.condition is not None and not bound.condition(slot.item):
                raise _failed(slot.item, return_on_failure)
            old = slot.item
            _store(table, slot, new_item, capacity)
            return old

        old = _with_insert_retry(attempt)
    return WriteResult(old if return_values == "ALL_OLD" else None, capacity)


def get_item(
    *, sandbox: Sandbox, table_name: str, key: Doc, expressions: Expressions | None = None, consistent: bool = False
) -> ReadResult:
    bound = _bind(expressions or Expressions())
    name = _table_name(sandbox, table_name)
    item = _get_cached(sandbox, name, key)
    if item is None:
        table = _table(sandbox, table_name)
        key = logic.validate_key(key, table.schema)
        pk, sk = table.encode(key)
        data = Item.objects.filter(table=table.row, pkey=pk, skey=sk).values_list("data", flat=True).first()
        item = load_item(data) if data is not None else None
        if item is not None and table.expired(item, time.time()):
            item = None
        name = table.name
    capacity = Capacity(name, read_units(logic.item_size(item) if item else 0, consistent=consistent))
    return ReadResult(_project(bound, item) if item is not None else None, capacity)


@functools.cache
def _get_item_sql() -> str:
    """The item with its table's TTL attribute, as SQL: building the ORM query cost more than running it."""
    q = connection.ops.quote_name
    item, table = q(Item._meta.db_table), q(Table._meta.db_table)
    return (
        f"SELECT {item}.{q('data')}, {table}.{q('ttl_attribute')} FROM {item} INNER JOIN {table} "
        f"ON {table}.{q('id')} = {item}.{q('table_id')} "
        f"WHERE {item}.{q('table_id')} = %s AND {item}.{q('pkey')} = %s AND {item}.{q('skey')} = %s LIMIT 1"
    )


def _get_cached(sandbox: Sandbox, name: str, key: Doc) -> Doc | None:
    """GetItem in one query when the table's key schema is cached and the item is there (and not
    expired); None sends the caller the long way (table lookup, validation, then the item)."""
    cached = _KEY_SCHEMAS.get((sandbox.pk, name))
    if cached is None:
        return None
    table_pk, schema = cached
    try:
        key = logic.validate_key(key, schema)
    except DynamoValidationError:
        return None  # the long way raises it, or finds a new table of that name
    pk = logic.encode_key_value(key[schema.hash_key])
    sk = logic.encode_key_value(key[schema.range_key]) if schema.range_key else b""
    with connection.cursor() as cursor:
        cursor.execute(_get_item_sql(), [table_pk, pk, sk])
        row = cursor.fetchone()
    if row is None:
        return None
    item = load_item(row[0])
    expires = _expiry(row[1], item)
    return None if expires is not None and expires <= time.time() else item


def delete_item(
    *,
    sandbox: Sandbox,
    table_name: str,
    key: Doc,
    expressions: Expressions | None = None,
    return_values: str = "NONE",
    return_on_failure: str = "NONE",
) -> WriteResult:
    _check_return_values(return_values, ("NONE", "ALL_OLD"), "Return values set to invalid value")
    _check_return_on_failure(return_on_failure)
    bound = _bind(expressions or Expressions())
    with _writing():
        table = _table(sandbox, table_name)
        key = logic.validate_key(key, table.schema)
        _lock_streams([table])
        slot = _lock(table, key, time.time())
        if bound.condition is not None and not bound.condition(slot.item):
            raise _failed(slot.item, return_on_failure)
        old = slot.item
        capacity = Capacity(table.name)
        if slot.row is not None:
            _store(table, slot, None, capacity)
        else:
            capacity.table = write_units(0)
    return WriteResult(old if return_values == "ALL_OLD" else None, capacity)


def _compile_update(table: TableView, expressions: Expressions) -> tuple[logic.Update | None, _Bound]:
    bound = _bind(expressions, done=False)
    update = bound.context.update(expressions.update, table.schema.names) if expressions.update is not None else None
    bound.context.check_unused()
    return update, bound


def _updated(table: TableView, slot: _Slot, update: logic.Update | None) -> tuple[Doc, logic.UpdateResult | None]:
    base = slot.item if slot.item is not None else dict(slot.key)
    if update is None:
        return base, None
    result = update.apply(base)
    _check_index_keys(table, result.new_item)
    return result.new_item, result


def update_item(
    *,
    sandbox: Sandbox,
    table_name: str,
    key: Doc,
    expressions: Expressions | None = None,
    return_values: str = "NONE",
    return_on_failure: str = "NONE",
) -> WriteResult:
    if return_values not in logic.expressions.RETURN_VALUES:
        raise DynamoValidationError(
            f"1 validation error detected: Value '{return_values}' at 'returnValues' failed to satisfy constraint: "
            "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
        )
    _check_return_on_failure(return_on_failure)
    with _writing():
        table = _table(sandbox, table_name)
        key = logic.validate_key(key, table.schema)
        update, bound = _compile_update(table, expressions or Expressions())
        _lock_streams([table])
        capacity = Capacity(table.name)
        now = time.time()

        def attempt() -> Doc | None:
            slot = _lock(table, key, now)
            if bound.condition is not None and not bound.condition(slot.item):
                raise _failed(slot.item, return_on_failure)
            existed = slot.item is not None
            new_item, result = _updated(table, slot, update)
            old = slot.item
            _store(table, slot, new_item, capacity)
            if return_values == "NONE":
                return None
            if return_values in ("ALL_OLD", "UPDATED_OLD") and not existed:
                return None
            if result is None:
                return {"ALL_OLD": old, "ALL_NEW": new_item}.get(return_values)
            return result.return_values(return_values)

        attributes = _with_insert_retry(attempt)
    return WriteResult(attributes, capacity)


# --- Query and Scan -------------------------------------------------------------------------


@dataclass
class Page:
    items: list[Doc]
    count: int
    scanned: int
    last_key: Doc | None
    capacity: Capacity


def _after(fields: Sequence[str], values: Sequence[Any], forward: bool) -> Q:
    """Rows strictly after ``values`` in the order of ``fields`` (lexicographic tuple comparison)."""
    op = "gt" if forward else "lt"
    q = Q()
    for i, name in enumerate(fields):
        term = Q(**{f"{name}__{op}": values[i]}, **{f: values[j] for j, f in enumerate(fields[:i])})
        q = term if i == 0 else q | term
    return q


def _walk(
    queryset: QuerySet[Any], fields: Sequence[str], forward: bool, position: Sequence[Any] | None, first: int
) -> Iterator[Any]:
    """Rows of ``queryset`` in ``fields`` order, fetched in chunks by keyset pagination."""
    order = list(fields) if forward else [f"-{f}" for f in fields]
    size = first
    while True:
        rows = queryset.filter(_after(fields, position, forward)) if position is not None else queryset
        chunk = list(rows.order_by(*order)[:size])
        yield from chunk
        if len(chunk) < size:
            return
        last = chunk[-1]
        position = [_attr(last, f) for f in fields]
        size = _CHUNK


def _attr(row: Any, name: str) -> Any:
    value = row
    for part in name.split("__"):
        value = getattr(value, part)
    return bytes(value) if isinstance(value, memoryview) else value


def _check_select(select: str | None, bound: _Bound, index: Index | None) -> str:
    if select is None:
        return (
            "SPECIFIC_ATTRIBUTES"
            if bound.projection is not None
            else ("ALL_PROJECTED_ATTRIBUTES" if index else "ALL_ATTRIBUTES")
        )
    if select == "SPECIFIC_ATTRIBUTES":
        if bound.projection is None:
            raise DynamoValidationError(
                "1 validation error detected: Must specify ProjectionExpression or AttributesToGet when choosing to get SPECIFIC_ATTRIBUTES"  # noqa: E501
            )
        return select
    if bound.projection is not None:
        raise DynamoValidationError(
            f"1 validation error detected: Cannot specify the AttributesToGet or ProjectionExpression when choosing to get {select}"  # noqa: E501
        )
    if select == "ALL_PROJECTED_ATTRIBUTES" and index is None:
        raise DynamoValidationError("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
    if (
        select == "ALL_ATTRIBUTES"
        and index is not None
        and index.is_global
        and index.projection.get("ProjectionType") != "ALL"
    ):
        raise DynamoValidationError(
            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index "  # noqa: E501
            f"{index.name} because its projection type is not ALL"
        )
    return select


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise DynamoValidationError(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1"
        )


def _index(table: TableView, index_name: str | None) -> Index | None:
    if index_name is None:
        return None
    index = table.indexes.get(index_name)
    if index is None:
        raise DynamoValidationError(f"The table does not have the specified index: {index_name}")
    return index


def _start_position(table: TableView, index: Index | None, start: Doc, *, scan: bool) -> list[Any]:
    """The ExclusiveStartKey as a position in the walk's field order."""
    names = list(table.schema.names) + ([n for n in index.schema.names if n not in table.schema.names] if index else [])
    if set(start) != set(names):
        raise DynamoValidationError(
            "The provided starting key is invalid: The provided key element does not match the schema"
        )
    try:
        key = logic.validate_key({n: start[n] for n in table.schema.names}, table.schema)
        if index is not None:
            logic.validate_index_keys(start, index.name, index.schema)
    except DynamoValidationError as exc:
        raise DynamoValidationError(f"The provided starting key is invalid: {exc.message}") from None
    pk, sk = table.encode(key)
    if index is None:
        return [_shard(pk), pk, sk] if scan else [sk]
    ipk = logic.encode_key_value(start[index.schema.hash_key])
    isk = logic.encode_key_value(start[index.schema.range_key]) if index.schema.range_key else b""
    return [ipk, isk, pk, sk] if scan else [isk, pk, sk]


def _paginate(
    table: TableView,
    index: Index | None,
    rows: Iterator[Any],
    bound: _Bound,
    *,
    limit: int | None,
    select: str,
    consistent: bool,
) -> Page:
    """Evaluate rows up to Limit or 1 MB, filter and project them; the last key if more follow."""
    items: list[Doc] = []
    evaluated = size = count = 0
    last: Doc | None = None
    now = time.time()
    ttl = bool(table.row.ttl_attribute)
    for row in rows:
        item_row = row.item if index is not None else row
        item = load_item(item_row.data)
        if ttl and table.expired(item, now):
            continue
        if index is not None:
            item = index.project(item, table.schema)
        evaluated += 1
        size += item_row.size
        last = item
        if bound.filter is None or bound.filter(item):
            count += 1
            if select != "COUNT":
                items.append(_project(bound, item))
        if (limit is not None and evaluated >= limit) or size >= PAGE_BYTES:
            break
    else:
        last = None
    last_key = None
    if last is not None and next(rows, None) is not None:
        names = table.schema.names + (index.schema.names if index else ())
        last_key = {name: last[name] for name in dict.fromkeys(names)}
    units = read_units(size, consistent=consistent)
    capacity = Capacity(table.name)
    if index is None:
        capacity.table = units
    else:
        capacity.add_index(index, units)
    return Page(items, count, evaluated, last_key, capacity)


def query(
    *,
    sandbox: Sandbox,
    table_name: str,
    index_name: str | None = None,
    expressions: Expressions,
    forward: bool = True,
    limit: int | None = None,
    exclusive_start_key: Doc | None = None,
    select: str | None = None,
    consistent: bool = False,
) -> Page:
    _check_limit(limit)
    if expressions.key_condition is None:
        raise DynamoValidationError(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
        )
    table = _table(sandbox, table_name)
    _sweep_expired_soon(table.row)
    index = _index(table, index_name)
    if consistent and index is not None and index.is_global:
        raise DynamoValidationError("Consistent reads are not supported on global secondary indexes")
    bound = _bind(expressions, done=False)
    key_condition = bound.context.key_condition(expressions.key_condition, index.schema if index else table.schema)
    bound.context.check_unused()
    select = _check_select(select, bound, index)
    bounds = logic.key_condition_to_range(key_condition)
    if index is None:
        queryset: QuerySet[Any] = Item.objects.filter(table=table.row, pkey=bounds.pk).only(
            "pkey", "skey", "data", "size"
        )
        fields = ["skey"]
    else:
        queryset = (
            IndexEntry.objects.filter(table=table.row, index_name=index.name, pkey=bounds.pk)
            .select_related("item")
            .only("skey", "item_pkey", "item_skey", "item__data", "item__size")
        )
        fields = ["skey", "item_pkey", "item_skey"]
    if bounds.lower is not None:
        queryset = queryset.filter(**{"skey__gte" if bounds.lower_inclusive else "skey__gt": bounds.lower})
    if bounds.upper is not None:
        queryset = queryset.filter(**{"skey__lte" if bounds.upper_inclusive else "skey__lt": bounds.upper})
    position = _start_position(table, index, exclusive_start_key, scan=False) if exclusive_start_key else None
    first = min(limit + 1, _CHUNK) if limit is not None else 100
    rows = _walk(queryset, fields, forward, position, first)
    return _paginate(table, index, rows, bound, limit=limit, select=select, consistent=consistent)


def scan(
    *,
    sandbox: Sandbox,
    table_name: str,
    index_name: str | None = None,
    expressions: Expressions | None = None,
    limit: int | None = None,
    exclusive_start_key: Doc | None = None,
    select: str | None = None,
    segment: int | None = None,
    total_segments: int | None = None,
    consistent: bool = False,
) -> Page:
    _check_limit(limit)
    if (segment is None) != (total_segments is None):
        raise DynamoValidationError(
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"  # noqa: E501
            if total_segments is None
            else "The Segment parameter is required but was not present in the request when parameter TotalSegments is present"  # noqa: E501
        )
    if total_segments is not None and segment is not None:
        if not 1 <= total_segments <= 1_000_000:
            raise DynamoValidationError(
                f"1 validation error detected: Value '{total_segments}' at 'totalSegments' failed to satisfy constraint: "  # noqa: E501
                "Member must have value less than or equal to 1000000"
            )
        if not 0 <= segment < total_segments:
            raise DynamoValidationError(
                f"The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total_segments}"  # noqa: E501
            )
    table = _table(sandbox, table_name)
    _sweep_expired_soon(table.row)
    index = _index(table, index_name)
    bound = _bind(expressions or Expressions())
    select = _check_select(select, bound, index)
    if index is None:
        queryset: QuerySet[Any] = Item.objects.filter(table=table.row).only("pkey", "skey", "shard", "data", "size")
        fields = ["shard", "pkey", "skey"]
        shard_field = "shard"
    else:
        queryset = (
            IndexEntry.objects.filter(table=table.row, index_name=index.name)
            .select_related("item")
            .only("pkey", "skey", "item_pkey", "item_skey", "item__data", "item__size", "item__shard")
        )
        fields = ["pkey", "skey", "item_pkey", "item_skey"]
        shard_field = "item__shard"
    if total_segments is not None and segment is not None:
        queryset = queryset.filter(
            **{
                f"{shard_field}__gte": segment * _SHARDS // total_segments,
                f"{shard_field}__lt": (segment + 1) * _SHARDS // total_segments,
            }
        )
    position = _start_position(table, index, exclusive_start_key, scan=True) if exclusive_start_key else None
    first = min(limit + 1, _CHUNK) if limit is not None else 100
    rows = _walk(queryset, fields, True, position, first)
    return _paginate(table, index, rows, bound, limit=limit, select=select, consistent=consistent)


# --- batches --------------------------------------------------------------------------------


def batch_get_item(
    *, sandbox: Sandbox, request_items: Mapping[str, Doc]
) -> tuple[dict[str, list[Doc]], list[Capacity]]:
    """Every requested item that exists, per table (none are left unprocessed)."""
    total = sum(len(request.get("Keys", ())) for request in request_items.values())
    if total > MAX_BATCH_GET:
        raise DynamoValidationError("Too many items requested for the BatchGetItem call")
    if not request_items:
        raise DynamoValidationError(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"  # noqa: E501
        )
    responses: dict[str, list[Doc]] = {}
    capacities = []
    now = time.time()
    for name, request in request_items.items():
        expressions = Expressions(
            names=request.get("ExpressionAttributeNames"),
            projection=request.get("ProjectionExpression"),
            attributes_to_get=request.get("AttributesToGet"),
        )
        bound = _bind(expressions)
        table = _table(sandbox, name)
        keys = [logic.validate_key(key, table.schema) for key in request.get("Keys", ())]
        encoded = [table.encode(key) for key in keys]
        if len(set(encoded)) != len(encoded):
            raise DynamoValidationError("Provided list of item keys contains duplicates")
        query = Q()
        for pk, sk in encoded:
            query |= Q(pkey=pk, skey=sk)
        rows = list(Item.objects.filter(query, table=table.row).values_list("data", "size")) if encoded else []
        capacity = Capacity(table.name)
        found = []
        for data, size in rows:
            item = load_item(data)
            if table.expired(item, now):
                continue
            capacity.table += read_units(size, consistent=bool(request.get("ConsistentRead")))
            found.append(_project(bound, item))
        responses[table.name] = found
        capacities.append(capacity)
    return responses, capacities


def batch_write_item(*, sandbox: Sandbox, request_items: Mapping[str, list[Doc]]) -> list[Capacity]:
    """Apply every put and delete (all of them: nothing is left unprocessed)."""
    total = sum(len(requests) for requests in request_items.values())
    if not request_items or total == 0:
        raise DynamoValidationError(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"  # noqa: E501
        )
    if total > MAX_BATCH_WRITE:
        raise DynamoValidationError(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: "
            "Map value must satisfy constraint: [Member must have length less than or equal to 25, "
            "Member must have length greater than or equal to 1]"
        )
    capacities = []
    now = time.time()
    with _writing():
        plans: list[tuple[TableView, Doc, Doc | None]] = []
        for name, requests in request_items.items():
            table = _table(sandbox, name)
            seen: set[tuple[bytes, bytes]] = set()
            for request in requests:
                if ("PutRequest" in request) == ("DeleteRequest" in request):
                    raise DynamoValidationError(
                        "Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest"
                    )
                if "PutRequest" in request:
                    item = logic.validate_item(request["PutRequest"].get("Item"), table.schema)
                    _check_index_keys(table, item)
                    key: Doc = table.key_of(item)
                    new_item: Doc | None = item
                else:
                    key = logic.validate_key(request["DeleteRequest"].get("Key"), table.schema)
                    new_item = None
                encoded = table.encode(key)
                if encoded in seen:
                    raise DynamoValidationError("Provided list of item keys contains duplicates")
                seen.add(encoded)
                plans.append((table, key, new_item))
        _lock_streams(plan[0] for plan in plans)
        by_table: dict[str, Capacity] = {}
        for table, key, new_item in plans:
            capacity = by_table.setdefault(table.name, Capacity(table.name))

            def attempt(
                table: TableView = table, key: Doc = key, new_item: Doc | None = new_item, capacity: Capacity = capacity
            ) -> None:
                slot = _lock(table, key, now)
                if new_item is None and slot.row is None:
                    capacity.table += write_units(0)
                    return
                _store(table, slot, new_item, capacity)

            _with_insert_retry(attempt)
        capacities = list(by_table.values())
    return capacities


# --- transactions ---------------------------------------------------------------------------


@dataclass
class _TransactItem:
    kind: str  # ConditionCheck, Put, Delete, Update
    table: TableView
    key: Doc
    condition: logic.Condition | None
    return_on_failure: str
    item: Doc | None = None  # Put
    update: logic.Update | None = None
    slot: _Slot | None = None


def _prepare_transact_item(sandbox: Sandbox, entry: Doc, tables: dict[str, TableView]) -> _TransactItem:
    kinds = [k for k in ("ConditionCheck", "Put", "Delete", "Update") if k in entry]
    if len(kinds) != 1:
        raise DynamoValidationError("TransactItems can only contain one of Check, Put, Update or Delete")
    kind = kinds[0]
    spec = entry[kind]
    name = _table_name(sandbox, spec["TableName"])
    if name not in tables:
        tables[name] = _table(sandbox, name)
    table = tables[name]
    return_on_failure = spec.get("ReturnValuesOnConditionCheckFailure", "NONE")
    _check_return_on_failure(return_on_failure)
    expressions = Expressions(
        names=spec.get("ExpressionAttributeNames"),
        values=spec.get("ExpressionAttributeValues"),
        condition=spec.get("ConditionExpression"),
        update=spec.get("UpdateExpression"),
    )
    if kind == "ConditionCheck" and expressions.condition is None:
        raise DynamoValidationError(
            "1 validation error detected: Value null at 'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null"  # noqa: E501
        )
    if kind == "Put":
        item = logic.validate_item(spec.get("Item"), table.schema)
        _check_index_keys(table, item)
        bound = _bind(expressions)
        return _TransactItem(kind, table, table.key_of(item), bound.condition, return_on_failure, item=item)
    key = logic.validate_key(spec.get("Key"), table.schema)
    if kind == "Update":
        update, bound = _compile_update(table, expressions)
        return _TransactItem(kind, table, key, bound.condition, return_on_failure, update=update)
    bound = _bind(expressions)
    return _TransactItem(kind, table, key, bound.condition, return_on_failure)


def _request_hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=_b64).encode()).hexdigest()


def transact_write_items(
    *, sandbox: Sandbox, transact_items: list[Doc], client_request_token: str | None = None
) -> list[Capacity] | None:
    """Apply all writes or none. ``None`` when a repeated ClientRequestToken made this a no-op."""
    if not 1 <= len(transact_items) <= MAX_TRANSACT_ITEMS:
        raise DynamoValidationError(
            f"1 validation error detected: Value '{transact_items}' at 'transactItems' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_TRANSACT_ITEMS}"
        )
    tables: dict[str, TableView] = {}
    prepared = [_prepare_transact_item(sandbox, entry, tables) for entry in transact_items]
    keys = [(item.table.row.pk, *item.table.encode(item.key)) for item in prepared]
    if len(set(keys)) != len(keys):
        raise DynamoValidationError("Transaction request cannot include multiple operations on one item")
    now = time.time()
    with _writing():
        if client_request_token is not None:
            digest = _request_hash(transact_items)
            TransactionToken.objects.filter(sandbox=sandbox, created_at__lt=timezone.now() - TOKEN_LIFETIME).delete()
            try:
                with transaction.atomic():
                    TransactionToken.objects.create(sandbox=sandbox, token=client_request_token, request_hash=digest)
            except IntegrityError:
                previous = TransactionToken.objects.select_for_update().get(sandbox=sandbox, token=client_request_token)
                if previous.request_hash != digest:
                    raise IdempotentParameterMismatchException(
                        "Request with the same ClientRequestToken was already processed with different parameters"
                    ) from None
                return None

        def attempt() -> list[Capacity]:
            # Lock rows in key order so concurrent transactions cannot deadlock.
            _lock_streams(tables.values())
            for position in sorted(range(len(prepared)), key=lambda i: keys[i]):
                item = prepared[position]
                item.slot = _lock(item.table, item.key, now)
            reasons: list[Doc] = []
            new_items: list[Doc | None] = []
            for item in prepared:
                assert item.slot is not None
                current = item.slot.item
                new_item: Doc | None = None
                if item.condition is not None and not item.condition(current):
                    reason: Doc = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
                    if item.return_on_failure == "ALL_OLD" and current is not None:
                        reason["Item"] = current
                    reasons.append(reason)
                    new_items.append(None)
                    continue
                try:
                    if item.kind == "Put":
                        new_item = item.item
                    elif item.kind == "Update":
                        new_item, _ = _updated(item.table, item.slot, item.update)
                except DynamoValidationError as exc:
                    reasons.append({"Code": "ValidationError", "Message": exc.message})
                    new_items.append(None)
                    continue
                reasons.append({"Code": "None"})
                new_items.append(new_item)
            if any(reason["Code"] != "None" for reason in reasons):
                raise TransactionCanceledException(reasons)
            by_table: dict[str, Capacity] = {}
            for item, new_item in zip(prepared, new_items, strict=True):
                capacity = by_table.setdefault(item.table.name, Capacity(item.table.name))
                assert item.slot is not None
                if item.kind == "ConditionCheck" or (item.kind == "Delete" and item.slot.row is None):
                    capacity.table += write_units(0, transactional=True)
                    continue
                _store(item.table, item.slot, new_item, capacity, transactional=True)
            return list(by_table.values())

        return _with_insert_retry(attempt)


def transact_get_items(*, sandbox: Sandbox, transact_items: list[Doc]) -> tuple[list[Doc | None], list[Capacity]]:
    if not 1 <= len(transact_items) <= MAX_TRANSACT_ITEMS:
        raise DynamoValidationError(
            f"1 validation error detected: Value at 'transactItems' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_TRANSACT_ITEMS}"
        )
    results: list[Doc | None] = []
    by_table: dict[str, Capacity] = {}
    now = time.time()
    with transaction.atomic():
        for entry in transact_items:
            spec = entry.get("Get")
            if spec is None:
                raise DynamoValidationError(
                    "1 validation error detected: Value null at 'transactItems.1.member.get' failed to satisfy constraint: Member must not be null"  # noqa: E501
                )
            bound = _bind(
                Expressions(names=spec.get("ExpressionAttributeNames"), projection=spec.get("ProjectionExpression"))
            )
            table = _table(sandbox, spec["TableName"])
            key = logic.validate_key(spec.get("Key"), table.schema)
            pk, sk = table.encode(key)
            row = Item.objects.filter(table=table.row, pkey=pk, skey=sk).values_list("data", "size").first()
            item = load_item(row[0]) if row is not None else None
            if item is not None and table.expired(item, now):
                item = None
            capacity = by_table.setdefault(table.name, Capacity(table.name))
            capacity.table += read_units(row[1] if item is not None and row else 0, consistent=True, transactional=True)
            results.append(_project(bound, item) if item is not None else None)
    return results, list(by_table.values())


# --- PartiQL --------------------------------------------------------------------------------


class DuplicateItemException(DynamoValidationError):
    code = "DuplicateItemException"


def execute_statement(
    *,
    sandbox: Sandbox,
    statement: str,
    parameters: list[Doc] | None = None,
    limit: int | None = None,
    next_token: str | None = None,
    consistent: bool = False,
    return_on_failure: str = "NONE",
) -> tuple[list[Doc], str | None, Capacity]:
    """Run one PartiQL statement: the selected items and the NextToken of a SELECT."""
    parsed = logic.parse_statement(statement, parameters)
    table = _table(sandbox, parsed.table)
    if isinstance(parsed, logic.Select):
        return _select(sandbox, table, parsed, limit, next_token, consistent)
    capacity = Capacity(table.name)
    with _writing():
        _lock_streams([table])
        now = time.time()
        if isinstance(parsed, logic.Insert):
            item = logic.validate_item(parsed.item, table.schema)
            _check_index_keys(table, item)

            def insert() -> None:
                slot = _lock(table, table.key_of(item), now)
                if slot.item is not None:
                    raise DuplicateItemException("Duplicate primary key exists in table")
                _store(table, slot, item, capacity)

            _with_insert_retry(insert)
            return [], None, capacity
        key = parsed.key(table.schema)
        slot = _lock(table, key, now)
        if slot.item is None or not parsed.where(slot.item):
            raise _failed(slot.item, return_on_failure)
        if isinstance(parsed, logic.Delete):
            _store(table, slot, None, capacity)
        else:
            result = parsed.update(table.schema.names).apply(slot.item)
            _check_index_keys(table, result.new_item)
            _store(table, slot, result.new_item, capacity)
    return [], None, capacity


def _select(
    sandbox: Sandbox,
    table: TableView,
    statement: logic.Select,
    limit: int | None,
    next_token: str | None,
    consistent: bool,
) -> tuple[list[Doc], str | None, Capacity]:
    index = _index(table, statement.index)
    schema = index.schema if index else table.schema
    where = statement.where
    start = json.loads(base64.b64decode(next_token), object_hook=_binary_hook) if next_token else None
    if all(name in statement.equalities for name in schema.names) and index is None:
        result = get_item(
            sandbox=sandbox, table_name=table.name, key=statement.key(table.schema), consistent=consistent
        )
        item = result.item
        items = [item] if item is not None and (where is None or where(item)) else []
        page = Page(items, len(items), len(items), None, result.capacity)
    else:
        bound = _Bound(ExpressionContext(), filter=where)
        hash_value = statement.equalities.get(schema.hash_key)
        if hash_value is not None and logic.types.type_of(hash_value) == schema.hash_type:
            pk = logic.encode_key_value(hash_value)
            if index is None:
                queryset: QuerySet[Any] = Item.objects.filter(table=table.row, pkey=pk)
                fields = ["skey"]
            else:
                queryset = IndexEntry.objects.filter(table=table.row, index_name=index.name, pkey=pk).select_related(
                    "item"
                )
                fields = ["skey", "item_pkey", "item_skey"]
            position = _start_position(table, index, start, scan=False) if start else None
        else:
            if index is None:
                queryset = Item.objects.filter(table=table.row)
                fields = ["shard", "pkey", "skey"]
            else:
                queryset = IndexEntry.objects.filter(table=table.row, index_name=index.name).select_related("item")
                fields = ["pkey", "skey", "item_pkey", "item_skey"]
            position = _start_position(table, index, start, scan=True) if start else None
        first = min(limit + 1, _CHUNK) if limit is not None else 100
        rows = _walk(queryset, fields, True, position, first)
        page = _paginate(table, index, rows, bound, limit=limit, select="ALL_ATTRIBUTES", consistent=consistent)
    items = (
        [statement.projection.apply(item) for item in page.items] if statement.projection is not None else page.items
    )
    token = base64.b64encode(dump_item(page.last_key).encode()).decode() if page.last_key else None
    return items, token, page.capacity


# --- Streams (the dynamodbstreams API) ------------------------------------------------------

ITERATOR_LIFETIME = 15 * 60
TTL_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}


def stream_arn(table: Table) -> str:
    return f"{table_arn(table)}/stream/{table.stream_label}"


def shard_id(table: Table) -> str:
    """The one shard a lab stream has."""
    digits = re.sub(r"\D", "", table.stream_label)
    return f"shardId-{digits.ljust(20, '0')}-{table.table_id.hex[:8]}"


def sequence_number(record_id: int) -> str:
    return f"{record_id:021d}"


def _stream_table(sandbox: Sandbox, arn: str) -> Table:
    name, _, label = arn.partition(":table/")[2].partition("/stream/")
    table = Table.objects.filter(sandbox=sandbox, name=name, stream_label=label).select_related("sandbox").first()
    if table is None or not label or not arn.startswith(f"arn:aws:dynamodb:{sandbox.region}:{sandbox.account_id}:"):
        raise ResourceNotFoundException(f"Requested resource not found: Stream: {arn} not found")
    return table


def list_streams(
    *, sandbox: Sandbox, table_name: str | None = None, limit: int = 100, exclusive_start: str | None = None
) -> tuple[list[Table], Table | None]:
    """Tables with a stream (enabled or not), in name order, and the last one when more follow."""
    tables = Table.objects.filter(sandbox=sandbox).exclude(stream_label="").select_related("sandbox")
    if table_name is not None:
        tables = tables.filter(name=_table_name(sandbox, table_name))
    if exclusive_start:
        tables = tables.filter(name__gt=exclusive_start.partition(":table/")[2].partition("/stream/")[0])
    found = list(tables.order_by("name")[: limit + 1])
    return found[:limit], found[limit - 1] if len(found) > limit else None


@dataclass
class StreamState:
    table: Table
    first: int | None  # the first and last sequence numbers the shard holds
    last: int | None


def describe_stream(*, sandbox: Sandbox, arn: str) -> StreamState:
    table = _stream_table(sandbox, arn)
    records = StreamRecord.objects.filter(table=table, label=table.stream_label)
    first = records.order_by("id").values_list("id", flat=True).first()
    last = records.order_by("-id").values_list("id", flat=True).first()
    return StreamState(table, first, last)


def _iterator(table: Table, after: int) -> str:
    payload = {"t": table.pk, "l": table.stream_label, "a": after, "at": int(time.time())}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def get_shard_iterator(
    *, sandbox: Sandbox, arn: str, shard: str, iterator_type: str, sequence: str | None = None
) -> str:
    table = _stream_table(sandbox, arn)
    if shard != shard_id(table):
        raise ResourceNotFoundException(f"Requested resource not found: Shard does not exist: {shard}")
    if iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        if sequence is None or not sequence.isdigit():
            raise DynamoValidationError(f"Invalid SequenceNumber {sequence} for iterator type {iterator_type}")
        after = int(sequence) - (1 if iterator_type == "AT_SEQUENCE_NUMBER" else 0)
    elif iterator_type == "TRIM_HORIZON":
        after = 0
    elif iterator_type == "LATEST":
        records = StreamRecord.objects.filter(table=table, label=table.stream_label)
        after = records.order_by("-id").values_list("id", flat=True).first() or 0
    else:
        raise DynamoValidationError(f"Serverless Lab does not support the shard iterator type {iterator_type}")
    return _iterator(table, after)


@dataclass
class RecordsPage:
    table: Table
    records: list[StreamRecord]
    next_iterator: str | None


def get_records(*, sandbox: Sandbox, iterator: str, limit: int = 1000) -> RecordsPage:
    if not 1 <= limit <= 1000:
        raise DynamoValidationError(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 1000"
        )
    try:
        payload = json.loads(base64.urlsafe_b64decode(iterator.encode()))
        table_pk, label, after, issued = payload["t"], payload["l"], int(payload["a"]), int(payload["at"])
    except (ValueError, KeyError, TypeError):
        raise DynamoValidationError("Invalid ShardIterator") from None
    table = Table.objects.filter(sandbox=sandbox, pk=table_pk).select_related("sandbox").first()
    if table is None or table.stream_label != label:
        raise ResourceNotFoundException("Requested resource not found: Stream not found")
    if time.time() - issued > ITERATOR_LIFETIME:
        raise AwsError(
            "Iterator expired. The iterator was created more than 15 minutes ago.", code="ExpiredIteratorException"
        )
    records = list(StreamRecord.objects.filter(table=table, label=label, id__gt=after).order_by("id")[:limit])
    position = records[-1].pk if records else after
    exhausted = not stream_enabled(table) and len(records) < limit
    return RecordsPage(table, records, None if exhausted else _iterator(table, position))


def stream_record(record: StreamRecord, table: Table) -> Doc:
    """A record in the Streams wire shape (also what a Lambda trigger receives)."""
    body = load_item(record.data)
    identity = body.pop("userIdentity", None)
    body.update(
        ApproximateCreationDateTime=record.created_at, SequenceNumber=sequence_number(record.pk), SizeBytes=record.size
    )
    return {
        "eventID": hashlib.md5(f"{table.table_id}:{record.pk}".encode(), usedforsecurity=False).hexdigest(),
        "eventName": record.event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": table.sandbox.region,
        "dynamodb": body,
        "userIdentity": identity,
    }
