#!/usr/bin/env python3
"""usage: parse_metrics.py < scrape.txt

Parses a Prometheus text-format scrape with prometheus_client's own parser and prints one JSON object:
{"families": {name: type}, "samples": [{"name", "labels", "value"}]}. Exits 1 with the parser's error on
stderr when the text does not parse."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    families = {}
    samples = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        families[family.name] = family.type
        for sample in family.samples:
            samples.append({"name": sample.name, "labels": sample.labels, "value": sample.value})
except Exception as error:  # the parser raises ValueError and others on bad input
    print(f"parse_metrics.py: {error}", file=sys.stderr)
    sys.exit(1)
print(json.dumps({"families": families, "samples": samples}))
