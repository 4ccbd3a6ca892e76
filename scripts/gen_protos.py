"""Regenerate the committed Python stubs from protos/ (``make protos``).

The stubs live in the client SDK package (``clients/python/aura/v1``), which the server
depends on; a test regenerates them into a temporary folder and fails on any difference.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import textwrap
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
STUB_ROOT = ROOT / "clients" / "python"


def aura_protos() -> list[Path]:
    return sorted((PROTO_ROOT / "aura" / "v1").glob("*.proto"))


DESCRIPTOR_SET = "aura/v1/descriptors.binpb"
VALIDATE_PROTO = "buf/validate/validate.proto"


def write_validate_descriptor(path: Path) -> None:
    """buf/validate/validate.proto (the rules the protos declare) as a descriptor set for
    protoc's --descriptor_set_in, taken from the protovalidate package, which carries it:
    the Buf Schema Registry that would serve its source is unreachable from the build
    machines."""
    import protovalidate

    validate_file = protovalidate.FieldPathPb.desc().file
    files = descriptor_pb2.FileDescriptorSet()
    files.file.add().MergeFromString(validate_file.proto.to_binary())
    path.write_bytes(files.SerializeToString())


def generate(out_dir: Path) -> None:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for every aura proto under out_dir (and
    buf/validate's, which they import), and a descriptor set with the .proto comments and
    every import (the REST door's OpenAPI document and `make buf` read it)."""
    well_known = resources.files("grpc_tools") / "_proto"
    (out_dir / DESCRIPTOR_SET).parent.mkdir(parents=True, exist_ok=True)
    files = [str(p.relative_to(PROTO_ROOT)) for p in aura_protos()]
    with tempfile.TemporaryDirectory() as scratch:
        validate_set = Path(scratch) / "validate.binpb"
        write_validate_descriptor(validate_set)
        common = [
            "grpc_tools.protoc",
            f"--descriptor_set_in={validate_set}",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
        ]
        aura = [
            f"--grpc_python_out={out_dir}",
            f"--descriptor_set_out={out_dir / DESCRIPTOR_SET}",
            "--include_source_info",
            "--include_imports",
            *files,
        ]
        if protoc.main([*common, VALIDATE_PROTO]) != 0 or protoc.main([*common, *aura]) != 0:
            raise SystemExit("protoc failed")
    for package in (out_dir / "buf", out_dir / "buf" / "validate"):
        (package / "__init__.py").touch()


CLIENT_METHODS = "aura_client/_methods.py"
# Calls that must not be repeated blindly: a retried Natural logs its search twice, and a
# retried DeleteEvent whose first attempt succeeded answers NOT_FOUND.
NOT_RETRIED = {"Natural", "DeleteEvent"}
SCALAR_TYPES = {
    FieldDescriptor.TYPE_STRING: ("str", '""'),
    FieldDescriptor.TYPE_DOUBLE: ("float", "0.0"),
    FieldDescriptor.TYPE_FLOAT: ("float", "0.0"),
    FieldDescriptor.TYPE_INT32: ("int", "0"),
    FieldDescriptor.TYPE_INT64: ("int", "0"),
    FieldDescriptor.TYPE_UINT32: ("int", "0"),
    FieldDescriptor.TYPE_BOOL: ("bool", "False"),
    FieldDescriptor.TYPE_ENUM: ("int | str", "0"),
}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _comments(descriptor_set: Path) -> dict[str, str]:
    """Each RPC's leading comment, by "Service/Method"."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    comments = {}
    for file in files.file:
        for location in file.source_code_info.location:
            path = list(location.path)
            if len(path) == 4 and path[0] == 6 and path[2] == 2:
                service = file.service[path[1]]
                method = service.method[path[3]]
                text = " ".join(location.leading_comments.split())
                comments[f"{service.name}/{method.name}"] = text
    return comments


def _parameter(field: FieldDescriptor) -> tuple[str, str]:
    """The keyword parameter for a request field: its annotation and default."""
    if field.message_type is not None:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            kind = "datetime | Timestamp"
        else:
            kind = f"{field.message_type.name}Input"
        return (f"Sequence[{kind}]", "()") if field.is_repeated else (f"{kind} | None", "None")
    kind, default = SCALAR_TYPES[field.type]
    if field.is_repeated:
        return f"Sequence[{kind}]", "()"
    if field.has_presence:
        return f"{kind} | None", "None"
    return kind, default


def _rules(message: Descriptor) -> str:
    """The request's declared rules (protos/, buf.validate), as the docstring's last lines:
    the server refuses a call that breaks one with INVALID_ARGUMENT naming the field."""
    from aura_server.rest.schema_rules import describe, message_notes

    lines = [f"{field.name}: {describe(field)}" for field in message.fields if describe(field)]
    lines += message_notes(message)
    if not lines:
        return ""
    # Backslashes doubled: the text lands inside a docstring ("\\S" in a pattern).
    wrapped = [
        textwrap.fill(line.replace("\\", "\\\\"), 84, subsequent_indent="    ") for line in lines
    ]
    body = "\n".join(wrapped).replace("\n", "\n        ")
    return f"\n\n        Rules (refused with INVALID_ARGUMENT):\n        {body}\n        "


def client_methods(descriptor_set: Path) -> str:
    """The typed methods of aura_client's clients, one per RPC, from the descriptors."""
    from aura.v1 import (  # the stubs just generated, imported for their descriptors
        behavior_pb2,
        catalog_pb2,
        feedback_pb2,
        onboarding_pb2,
        recommend_pb2,
        status_pb2,
    )

    modules = (onboarding_pb2, behavior_pb2, feedback_pb2, recommend_pb2, catalog_pb2, status_pb2)
    comments = _comments(descriptor_set)
    sync_methods: list[str] = []
    async_methods: list[str] = []
    retried: list[str] = []
    for module in modules:
        alias = module.__name__.rsplit(".", 1)[1]
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.name not in NOT_RETRIED:
                    retried.append(
                        f'    {{"service": "{service.full_name}", "method": "{method.name}"}},'
                    )
                params = []
                names = []
                for field in method.input_type.fields:
                    annotation, default = _parameter(field)
                    params.append(f"        {field.name}: {annotation} = {default},")
                    names.append(f'"{field.name}": {field.name}')
                params.append("        timeout: float | None = None,")
                request = f"{alias}.{method.input_type.name}"
                response = f"{alias}.{method.output_type.name}"
                doc = comments.get(f"{service.name}/{method.name}", "")
                doc = f"{service.name}.{method.name}" + (f": {doc}" if doc else "")
                doc = textwrap.fill(doc, 88, subsequent_indent="        ")
                doc += _rules(method.input_type)
                call = (
                    f'"/{service.full_name}/{method.name}", {request}, {response}, '
                    f"{{{', '.join(names)}}}, timeout"
                )
                header = f"    def {snake(method.name)}(\n        self,\n        *,\n"
                body = "\n".join(params)
                sync_methods.append(
                    f'{header}{body}\n    ) -> {response}:\n        """{doc}"""\n'
                    f"        return self._unary({call})\n"
                )
                async_methods.append(
                    f"{header.replace('    def', '    async def')}{body}\n"
                    f'    ) -> {response}:\n        """{doc}"""\n'
                    f"        return await self._unary({call})\n"
                )
    imports = ", ".join(m.__name__.rsplit(".", 1)[1] for m in modules)
    return (
        CLIENT_HEADER.format(imports=imports, retried="\n".join(retried))
        + "\n\nclass SyncMethods(SyncCaller):\n"
        + "\n".join(sync_methods)
        + "\n\nclass AsyncMethods(AsyncCaller):\n"
        + "\n".join(async_methods)
    )


CLIENT_HEADER = '''"""Typed methods, one per RPC, generated by `make protos`; do not edit.

Keyword arguments are the request's fields with their proto defaults; enums take the
enum value, its name or its plain word (`intent="explore"`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from aura.v1 import {imports}
from aura_client.calls import AsyncCaller, EventInput, SyncCaller

# Calls the channel retries on UNAVAILABLE and RESOURCE_EXHAUSTED (see calls.py): every
# RPC that is safe to repeat. Natural and DeleteEvent are not.
RETRIED_METHODS = [
{retried}
]
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=STUB_ROOT, help="output root")
    out = parser.parse_args().out
    generate(out)
    sys.path.insert(0, str(out))
    (out / CLIENT_METHODS).write_text(client_methods(out / DESCRIPTOR_SET))
    print(f"generated stubs for {len(aura_protos())} protos under {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
