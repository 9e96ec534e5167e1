"""Console forms: they check the input's shape and build the API's parameters; the backend
enforces DynamoDB's rules (names, key types, expressions) and its messages land in the form."""

from __future__ import annotations

from typing import Any

from django import forms

KEY_TYPES = [("S", "String"), ("N", "Number"), ("B", "Binary")]
BILLING_MODES = [
    ("PAY_PER_REQUEST", "On-demand (pay per request)"),
    ("PROVISIONED", "Provisioned capacity"),
]
STREAM_VIEW_TYPES = [
    ("", "No stream"),
    ("KEYS_ONLY", "KEYS_ONLY: the changed item's key"),
    ("NEW_IMAGE", "NEW_IMAGE: the item after the change"),
    ("OLD_IMAGE", "OLD_IMAGE: the item before the change"),
    ("NEW_AND_OLD_IMAGES", "NEW_AND_OLD_IMAGES: both"),
]
PROJECTIONS = [("ALL", "ALL attributes"), ("KEYS_ONLY", "KEYS_ONLY"), ("INCLUDE", "INCLUDE (listed attributes)")]
SORT_OPERATORS = [
    ("", "(any sort key)"),
    ("=", "="),
    ("<", "<"),
    ("<=", "<="),
    (">", ">"),
    (">=", ">="),
    ("BETWEEN", "BETWEEN"),
    ("begins_with", "begins_with"),
]
DIALECTS = [("plain", "Plain JSON"), ("dynamodb", "DynamoDB JSON")]
_CODE = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}


def _text(label: str, *, required: bool = True, help_text: str = "", max_length: int = 255) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, help_text=help_text, max_length=max_length, widget=forms.TextInput(attrs=_CODE)
    )


class TableCreateForm(forms.Form):
    name = _text("Table name", help_text="3–255 characters: letters, numbers, underscores, hyphens and dots.")
    hash_key = _text("Partition key", help_text="e.g. customer")
    hash_type = forms.ChoiceField(label="Partition key type", choices=KEY_TYPES)
    range_key = _text("Sort key", required=False, help_text="Leave empty for a key-value table; e.g. placed")
    range_type = forms.ChoiceField(label="Sort key type", choices=KEY_TYPES, initial="N")
    billing_mode = forms.ChoiceField(label="Capacity mode", choices=BILLING_MODES, initial="PAY_PER_REQUEST")
    read_capacity = forms.IntegerField(label="Read capacity units", min_value=1, initial=5, required=False)
    write_capacity = forms.IntegerField(label="Write capacity units", min_value=1, initial=5, required=False)
    stream_view_type = forms.ChoiceField(label="Stream", choices=STREAM_VIEW_TYPES, required=False)

    def throughput(self) -> dict[str, int] | None:
        data = self.cleaned_data
        if data["billing_mode"] != "PROVISIONED":
            return None
        return {"ReadCapacityUnits": data["read_capacity"] or 5, "WriteCapacityUnits": data["write_capacity"] or 5}

    def create_table_parameters(self, indexes: Any) -> dict[str, Any] | None:
        """``backend.create_table``'s keyword arguments (but ``sandbox``) from this form and its index
        formset, or None with the errors added when either is invalid or an attribute gets two types."""
        if not (self.is_valid() and indexes.is_valid()):
            return None
        data = self.cleaned_data
        attributes = {data["hash_key"]: data["hash_type"]}
        key_schema = [{"AttributeName": data["hash_key"], "KeyType": "HASH"}]
        if data["range_key"]:
            if data["range_key"] in attributes:
                self.add_error("range_key", "The sort key must differ from the partition key.")
                return None
            attributes[data["range_key"]] = data["range_type"]
            key_schema.append({"AttributeName": data["range_key"], "KeyType": "RANGE"})
        gsis = []
        for index_form in indexes:
            gsi = index_form.index(attributes, self.throughput())
            if gsi is None and index_form.errors:
                return None
            if gsi is not None:
                gsis.append(gsi)
        view_type = data["stream_view_type"]
        return {
            "name": data["name"],
            "key_schema": key_schema,
            "attribute_definitions": [{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()],
            "global_indexes": gsis,
            "billing_mode": data["billing_mode"],
            "provisioned_throughput": self.throughput(),
            "stream_specification": {"StreamEnabled": True, "StreamViewType": view_type} if view_type else None,
        }


class IndexForm(forms.Form):
    """One global secondary index of the create-table form; a blank row is no index."""

    index_name = _text("Index name", required=False)
    hash_key = _text("Partition key", required=False)
    hash_type = forms.ChoiceField(label="Partition key type", choices=KEY_TYPES)
    range_key = _text("Sort key", required=False)
    range_type = forms.ChoiceField(label="Sort key type", choices=KEY_TYPES)
    projection = forms.ChoiceField(label="Projection", choices=PROJECTIONS)
    non_key_attributes = _text(
        "Projected attributes", required=False, help_text="For INCLUDE: names separated by commas.", max_length=2000
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("index_name") and not data.get("hash_key"):
            self.add_error("hash_key", "An index needs a partition key.")
        if not data.get("index_name") and (data.get("hash_key") or data.get("range_key")):
            self.add_error("index_name", "Name the index (or clear its keys).")
        if data.get("projection") == "INCLUDE" and data.get("index_name") and not self.included():
            self.add_error("non_key_attributes", "INCLUDE needs at least one attribute name.")
        return data

    def included(self) -> list[str]:
        text = self.cleaned_data.get("non_key_attributes") or ""
        return [name.strip() for name in text.split(",") if name.strip()]

    def index(self, attributes: dict[str, str], throughput: dict[str, int] | None) -> dict[str, Any] | None:
        """The GlobalSecondaryIndex this row describes (None for a blank row, or with an error added
        when a key attribute already has another type); records its key attributes in ``attributes``."""
        index = self.cleaned_data
        if not index or not index.get("index_name"):
            return None
        for field, type_field in (("hash_key", "hash_type"), ("range_key", "range_type")):
            name, kind = index[field], index[type_field]
            if not name:
                continue
            if attributes.get(name, kind) != kind:
                self.add_error(field, f"{name} is already a {attributes[name]} key attribute.")
                return None
            attributes[name] = kind
        schema = [{"AttributeName": index["hash_key"], "KeyType": "HASH"}]
        if index["range_key"]:
            schema.append({"AttributeName": index["range_key"], "KeyType": "RANGE"})
        projection: dict[str, Any] = {"ProjectionType": index["projection"]}
        if index["projection"] == "INCLUDE":
            projection["NonKeyAttributes"] = self.included()
        gsi: dict[str, Any] = {"IndexName": index["index_name"], "KeySchema": schema, "Projection": projection}
        if throughput:
            gsi["ProvisionedThroughput"] = throughput
        return gsi


IndexFormSet = forms.formset_factory(IndexForm, extra=2, max_num=5, validate_max=True)


class ExploreForm(forms.Form):
    """Scan or Query (query string). Blank optional fields mean "not used"."""

    mode = forms.ChoiceField(choices=[("scan", "Scan"), ("query", "Query")], initial="scan", required=False)
    index = forms.CharField(label="Table or index", required=False, max_length=255)
    pk = forms.CharField(
        label="Partition key value", required=False, max_length=2048, widget=forms.TextInput(attrs=_CODE)
    )
    sk_op = forms.ChoiceField(label="Sort key condition", choices=SORT_OPERATORS, required=False)
    sk = forms.CharField(label="Sort key value", required=False, max_length=1024, widget=forms.TextInput(attrs=_CODE))
    sk2 = forms.CharField(label="and", required=False, max_length=1024, widget=forms.TextInput(attrs=_CODE))
    filter = forms.CharField(
        label="Filter expression",
        required=False,
        max_length=4096,
        help_text=(
            "Applied after the read, e.g. #t > :min AND begins_with(sku, :p). "
            "Reserved words (status, total, name…) go through #placeholders."
        ),
        widget=forms.TextInput(attrs=_CODE),
    )
    names = forms.CharField(
        label="Attribute names",
        required=False,
        max_length=4096,
        help_text='JSON, e.g. {"#s": "status"}',
        widget=forms.TextInput(attrs=_CODE),
    )
    values = forms.CharField(
        label="Attribute values",
        required=False,
        max_length=16384,
        help_text='Plain JSON, e.g. {":min": 10, ":open": "OPEN"}',
        widget=forms.TextInput(attrs=_CODE),
    )
    descending = forms.BooleanField(label="Descending sort key order (ScanIndexForward = false)", required=False)
    limit = forms.IntegerField(
        label="Page size",
        min_value=1,
        max_value=200,
        required=False,
        widget=forms.NumberInput(attrs={"placeholder": "25"}),
    )
    start = forms.CharField(required=False, max_length=8192, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("mode") == "query" and not data.get("pk"):
            self.add_error("pk", "A query needs the partition key's value.")
        if data.get("mode") == "query" and data.get("sk_op") and not data.get("sk"):
            self.add_error("sk", "Give the sort key a value for this condition.")
        if data.get("sk_op") == "BETWEEN" and data.get("mode") == "query" and not data.get("sk2"):
            self.add_error("sk2", "BETWEEN needs an upper bound.")
        return data


class ItemForm(forms.Form):
    dialect = forms.ChoiceField(label="Format", choices=DIALECTS, initial="plain", widget=forms.RadioSelect)
    text = forms.CharField(
        label="Item",
        max_length=1_000_000,
        strip=False,
        widget=forms.Textarea(attrs={**_CODE, "rows": 18, "class": "ddb-editor"}),
    )


class PartiQLForm(forms.Form):
    statement = forms.CharField(
        label="PartiQL statement",
        max_length=8192,
        widget=forms.Textarea(attrs={**_CODE, "rows": 5, "class": "ddb-editor ddb-editor-short"}),
    )
    next_token = forms.CharField(required=False, max_length=8192, widget=forms.HiddenInput)


class StreamForm(forms.Form):
    view_type = forms.ChoiceField(label="Stream view type", choices=STREAM_VIEW_TYPES, required=False)
