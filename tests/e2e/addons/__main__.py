"""The add-ons of a kindling stack whose nodes the end-to-end executor made (tests/e2e/executor.py).

Where the docker and command plugins cannot be had, the real engine still deploys
what runs in the cluster: the same ClusterAddons component, with the arguments
cluster.py gives it, through the real kubernetes provider and the policy pack.
The stack's kindling:* configuration is the stack's own; e2e:kubeconfigFile names
the file (mode 600, in the run's throwaway directory) holding the cluster's kubeconfig.
"""

import sys
from pathlib import Path

import pulumi

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from cluster import addons_args  # noqa: E402
from components.addons import ClusterAddons  # noqa: E402
from kindling.config import raw_stack_config  # noqa: E402
from kindling.spec import build_spec  # noqa: E402

spec = build_spec(raw_stack_config(), pulumi.Config("e2e").require("stack"), ROOT)
kubeconfig = pulumi.Output.secret(Path(pulumi.Config("e2e").require("kubeconfigFile")).read_text())
addons = ClusterAddons("addons", addons_args(spec, ROOT, kubeconfig))
pulumi.export("charts", {name: release.version for name, release in addons.releases.items()})
