"""The BuildKit cache records an image build created, removed with the image (scripts/build-cache.sh).

Two Commands bracket a build: one before it notes when it started, one after it keeps the ids of
the records created since. That second one's delete removes the image first (BuildKit keeps every
record an image still shares) and then the records, on destroy and when the image is rebuilt.
Whatever runs the image takes its id from ``image_id_after``, so it is gone before the image is.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.shell import on_host, run_script


def build_started(name: str, tag: pulumi.Input[str], parent: pulumi.Resource, depends_on: list[pulumi.Resource]):
    """The Command to put before the build of the image tagged ``tag`` (taken again when the tag changes)."""
    return run_script(
        f"{name}-build-started",
        on_host("build-cache.sh", "started"),
        triggers=[tag],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )


def image_id_after(name: str, image: docker.RemoteImage, started, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The image's id, depending on the Command that keeps (and on delete removes) its build's records."""
    records = run_script(
        f"{name}-build-cache",
        on_host(
            "build-cache.sh",
            "created",
            environment={"KINDLING_BUILD_STARTED": started.stdout, "KINDLING_BUILT_IMAGE": image.name},
        ),
        delete=on_host("build-cache.sh", "prune").create,
        triggers=[image.image_id],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[image]),
    )
    return pulumi.Output.all(image.image_id, records.id).apply(lambda both: both[0])
