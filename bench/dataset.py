"""The data every service is seeded with, so all of them answer the same questions.

1,000 milestones over 10 projects of 100 each. POSTs made by the load go to a project of
their own, so the lists of the seeded projects stay at 100 items throughout a run.
"""

from __future__ import annotations

from typing import Any

PROJECT_COUNT = 10
MILESTONES_PER_PROJECT = 100
SEEDED_MILESTONES = PROJECT_COUNT * MILESTONES_PER_PROJECT
PROJECT_IDS = tuple(f"proj_{number:02d}" for number in range(1, PROJECT_COUNT + 1))
# Where the POST load writes; never listed by the list load.
POST_PROJECT_ID = "proj_posts"
STATUSES = ("pending", "in_progress", "reached")


def seed_milestone(index: int) -> dict[str, Any]:
    """The POST body of seeded milestone ``index`` (0 to 999): all fields of ordinary size."""
    project_id = PROJECT_IDS[index // MILESTONES_PER_PROJECT]
    number = index % MILESTONES_PER_PROJECT + 1
    return {
        "projectId": project_id,
        "title": f"Milestone {number:03d} of {project_id}",
        "description": f"Deliverable {number} of {project_id}: scope agreed, work planned, "
        "review booked with the stakeholders.",
        "status": STATUSES[index % len(STATUSES)],
        "dueDate": f"2026-{index % 12 + 1:02d}-15T00:00:00Z",
    }


def seed_milestones() -> list[dict[str, Any]]:
    return [seed_milestone(index) for index in range(SEEDED_MILESTONES)]
