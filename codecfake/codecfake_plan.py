"""What rules/codecfake.smk adds to a run: Codecfake's layout where `codecfake_layout.write` is set, and its
per-condition table where a CM is scored on a set in that layout."""
from __future__ import annotations

from codecfake.cm.workflow import CMPlan
from codecfake.workflow import StagePlan


class CodecfakePlan(StagePlan):
    def __init__(self, plan):
        super().__init__(plan)
        self.cm_plan = CMPlan(plan)  # which evaluation sets are in Codecfake's layout

    def targets(self) -> list[str]:
        rules = self.rules
        layout = list(rules.codecfake_layout.output) if self.config["codecfake_layout"]["write"] else []
        return layout + (list(rules.codecfake_table.output) if self.cm_plan.codecfake_sets() else [])
