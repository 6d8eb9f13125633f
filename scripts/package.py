"""`make package`: CloudFormation/SAM for a stage, tables included, into dist/.

The DynamoDB tables are generated from the PynamoDB models (store.py), so
the template cannot drift from the code; `chalice package --merge-template`
merges them into Chalice's SAM template.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _key_schema(keys: list[dict]) -> list[dict]:
    return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in keys),
                  key=lambda k: k["KeyType"] != "HASH")


def _logical_id(base: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[_\-]", base)) + "Table"


def resources(prefix: str) -> dict:
    """A CloudFormation fragment declaring every table for TABLE_PREFIX=prefix."""
    os.environ["TABLE_PREFIX"] = prefix
    from chalicelib import store

    out = {}
    for base, info in store.table_schemas().items():
        schema = info["schema"]
        table = {
            "TableName": prefix + base,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": sorted(schema["attribute_definitions"], key=lambda a: a["AttributeName"]),
            "KeySchema": _key_schema(schema["key_schema"]),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        }
        gsis = [{"IndexName": g["index_name"], "KeySchema": _key_schema(g["key_schema"]),
                 "Projection": g["projection"]} for g in schema.get("global_secondary_indexes", [])]
        if gsis:
            table["GlobalSecondaryIndexes"] = gsis
        if info["ttl"]:
            table["TimeToLiveSpecification"] = {"AttributeName": info["ttl"], "Enabled": True}
        out[_logical_id(base)] = {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
                                  "UpdateReplacePolicy": "Retain", "Properties": table}
    return {"Resources": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", default="dist")
    args = parser.parse_args(argv)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = config["stages"][args.stage]
    prefix = stage["environment_variables"]["TABLE_PREFIX"]
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    merge = build / f"resources-{args.stage}.json"
    merge.write_text(json.dumps(resources(prefix), indent=2))
    chalice = Path(sys.executable).with_name("chalice")
    # `chalice package` wants a region even though the template is region-neutral.
    env = dict(os.environ, AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "eu-central-1"))
    subprocess.run([str(chalice), "package", "--stage", args.stage, "--merge-template", str(merge),
                    args.out], cwd=ROOT, check=True, env=env)
    template = json.loads((ROOT / args.out / "sam.json").read_text())
    tables = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"]
    print(f"{args.out}/sam.json: {len(template['Resources'])} resources, tables: {', '.join(sorted(tables))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
