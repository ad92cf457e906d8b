# codecfake: codec-resynthesized anti-spoofing data (CodecFake+ style).
#   corpus -> manifest -> speaker split -> (bona fide | codec x split x shard) -> 16 kHz -> protocols
# Rules are thin: inputs, outputs, env, and one `python -m codecfake` call; the logic lives in codecfake/.
import shlex
import sys

from snakemake.utils import min_version, validate

min_version("9.0")
sys.path.insert(0, workflow.basedir)

from codecfake import results_lock, stale_lock
from codecfake.workflow import Plan, expose_workflow_dir, parent_of, wildcard_constraints
from codecfake.post_deploy_scripts import write_scripts
from codecfake.cm.workflow import CMPlan
from codecfake.codecfake_plan import CodecfakePlan
from codecfake.cosg.plan import CosgPlan
from codecfake.export_plan import ExportPlan
from codecfake.quality.plan import QualityPlan
from codecfake.trace.workflow import TracePlan


configfile: "config.yaml"


validate(config, "config.schema.yaml")
# The run (corpus -> shards -> 16 kHz -> CoRS protocols) and its stages, one shape each (codecfake.workflow.StagePlan):
# built from the run's plan, read by their rules file, asked by `rule all` for targets (none where the config leaves
# the stage off). R is results_dir, the root of every output path in rules/.
plan = Plan(config, workflow.basedir, rules)
R = plan.results
cm_plan = CMPlan(plan)  # rules/cm.smk
cosg_plan = CosgPlan(plan)  # rules/cosg.smk
quality_plan = QualityPlan(plan)  # rules/quality.smk
trace_plan = TracePlan(plan)  # rules/trace.smk
export_plan = ExportPlan(plan)  # rules/export.smk
codecfake_plan = CodecfakePlan(plan)  # rules/codecfake.smk
plans = [plan, cm_plan, cosg_plan, quality_plan, trace_plan, export_plan, codecfake_plan]

# A lock left by a run killed outright (kill -9, OOM, power loss) is removed when its owner is provably gone, so
# the rerun needs no --unlock (codecfake/stale_lock.py); the profile's rerun-incomplete redoes its unfinished jobs.
if workflow.is_main_process:
    cleared = stale_lock.clear_if_stale()
    if cleared:
        print(f"codecfake: {cleared}", file=sys.stderr)


# Snakemake's lock covers this working directory only: a run that executes jobs also locks results_dir itself, so a
# run from another working directory on the same results_dir stops, naming the lock's owner (results_lock.py).
onstart:
    note = results_lock.acquire(R)
    if note:
        print(f"codecfake: {note}", file=sys.stderr)
    stale_lock.record_owner()


onsuccess:
    stale_lock.release()
    results_lock.release(R)


onerror:
    stale_lock.release()
    results_lock.release(R)


report: "report/workflow.rst"


expose_workflow_dir(workflow.basedir)  # conda post-deploy scripts find envs/post_deploy.py
write_scripts(workflow.basedir)  # envs/<name>.post-deploy.sh, from the registry entries and env files


# Jobs import the codecfake package from the workflow, whatever env they run in.
shell.prefix(f"export PYTHONPATH={shlex.quote(workflow.basedir)}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")


wildcard_constraints:
    **wildcard_constraints(plans),


include: "rules/corpus.smk"
include: "rules/weights.smk"
include: "rules/resynth.smk"
include: "rules/protocols.smk"
include: "rules/cm.smk"
include: "rules/quality.smk"
include: "rules/trace.smk"
include: "rules/export.smk"
include: "rules/cosg.smk"
include: "rules/codecfake.smk"


# The default target, after the rules whose outputs it names (rules.<name>.output: each path is written once, in
# the rule that makes it).
rule all:
    default_target: True
    input:
        [stage.targets() for stage in plans],
