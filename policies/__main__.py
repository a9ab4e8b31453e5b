"""kindling's policy pack, as `pulumi preview --policy-pack policies` runs it.

Only builds the pack: PolicyPack starts the analyzer's gRPC server and never
returns, so tests import ``kindling_policies`` and never this file.
"""

from kindling_policies import POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name="kindling", policies=POLICIES)
