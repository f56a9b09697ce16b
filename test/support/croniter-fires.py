# Reads JSON {"cases": [{"expr", "dayOr", "after", "count"}]} on stdin and prints, per case,
# the next `count` fire times (Unix seconds, UTC) that Debian's python3-croniter computes,
# or {"error": ...} when croniter refuses the expression.
import json
import sys
from datetime import datetime, timezone

from croniter import croniter

out = []
for case in json.load(sys.stdin)["cases"]:
    try:
        it = croniter(case["expr"], datetime.fromtimestamp(case["after"], timezone.utc), day_or=case["dayOr"])
        out.append({"fires": [it.get_next(float) for _ in range(case["count"])]})
    except Exception as err:  # croniter's own refusal, reported per case
        out.append({"error": f"{type(err).__name__}: {err}"})
json.dump(out, sys.stdout)
