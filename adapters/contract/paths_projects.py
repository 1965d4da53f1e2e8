"""The paths of the API about projects: their list, summary, progress, schedules and
changes, and one milestone's schedule (a table of ``Operation`` records, as in ``paths.py``)."""

from __future__ import annotations

from adapters.contract.insights import ProgressQuery, ProjectsQuery
from adapters.contract.operation import Operation
from adapters.contract.schedule import ChangesQuery, ProjectScheduleQuery

PROJECT_PATHS: dict[str, list[Operation]] = {
    "/api/projects": [
        Operation(
            method="get",
            operation_id="listProjects",
            tag="projects",
            summary="List projects",
            description=(
                "Every project that has live milestones, ordered by `projectId` (by code point), "
                "with its milestones counted by status. With `limit`, keyset pages: follow `next` "
                "(or the `Link` header) from the first page to see every project that kept live "
                "milestones throughout exactly once."
            ),
            ok="200",
            ok_description="The projects (a page of them with `limit`).",
            body="ProjectList",
            query=ProjectsQuery,
            response_headers=("Link",),
            errors=(400, 503),
        ),
    ],
    "/api/projects/{project_id}/summary": [
        Operation(
            method="get",
            operation_id="getProjectSummary",
            tag="projects",
            summary="Where a project stands now",
            description=(
                "Counts by status, overdue, reached on time or late, and the milestone due next, "
                "over the project's live milestones (a write that was answered is in the next "
                "summary). A project without live milestones gets zeros and a null `nextDue`."
            ),
            ok="200",
            ok_description="The summary.",
            body="SummaryEnvelope",
            errors=(400, 503),
        ),
    ],
    "/api/projects/{project_id}/progress": [
        Operation(
            method="get",
            operation_id="getProjectProgress",
            tag="projects",
            summary="How a project stood over time",
            description=(
                "The project's counts by status at the end of each interval, folded from the "
                "events: every milestone as it was then, one deleted later included. Each point "
                "equals what `?asOf=` one millisecond before `at` gives on each of the project's "
                "milestones. More than 1,000 points is a 400 naming the parameter to narrow; a "
                "project that never had a milestone gets an empty list."
            ),
            ok="200",
            ok_description="The series.",
            body="ProgressSeries",
            query=ProgressQuery,
            errors=(400, 503),
        ),
    ],
    "/api/milestones/{milestone_id}/schedule": [
        Operation(
            method="get",
            operation_id="getMilestoneSchedule",
            tag="schedule",
            summary="How a milestone's due date moved",
            description=(
                "Every move of `dueDate` after creation, oldest first, with the value it came from "
                "and went to exactly as stored, the slip in seconds between their due instants (a "
                "date is its 00:00:00Z), and who moved it when. Folded from the history, so also "
                "readable after a delete; 404 only for an id that never existed."
            ),
            ok="200",
            ok_description="The schedule.",
            body="ScheduleEnvelope",
            errors=(400, 404, 503),
        ),
    ],
    "/api/projects/{project_id}/schedule": [
        Operation(
            method="get",
            operation_id="getProjectSchedule",
            tag="schedule",
            summary="How a project's due dates slipped",
            description=(
                "The project's live milestones that have or had a due date, with their original "
                "and current due dates, how often and how far they moved: the most slipped first "
                "(no slip to tell last), ties by `milestoneId`. A project without such milestones "
                "gets an empty list."
            ),
            ok="200",
            ok_description="The milestones.",
            body="ProjectSchedule",
            query=ProjectScheduleQuery,
            errors=(400, 503),
        ),
    ],
    "/api/projects/{project_id}/changes": [
        Operation(
            method="get",
            operation_id="listProjectChanges",
            tag="schedule",
            summary="What changed in a project between two instants",
            description=(
                "Each milestone of the project with an event in `(since, until]`, by "
                "`milestoneId`: its state at both ends exactly as `?asOf=` shows it, the kind of "
                "change, the keys that differ, how many events and which actors. Keyset pages: "
                "follow `next` (or the `Link` header); without `until` the first page fixes it "
                "and the cursor carries it."
            ),
            ok="200",
            ok_description="A page of changes.",
            body="ChangeList",
            query=ChangesQuery,
            response_headers=("Link",),
            errors=(400, 503),
        ),
    ],
}
