"""Which generator is the champion of the registered model: the one with the lowest FID, compared
only under the same judge.

A judge is the classifier (a hash of its weights), the number of images and the noise seed of
the final evaluation: FIDs from two judges are not comparable, so with another judge the
champion is re-judged (pipelines/evaluation) before the candidate is compared with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JUDGE_KEYS = ("judge", "judge_samples", "judge_seed")


@dataclass(frozen=True)
class Verdict:
    crown: bool  # the candidate becomes the champion
    reason: str  # a line for the log and the run's tags


def same_judge(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two tag sets were judged by the same classifier, image count and seed."""
    return all(str(a.get(key)) == str(b.get(key)) for key in JUDGE_KEYS)


def champion_verdict(candidate: dict[str, Any], champion: dict[str, Any] | None) -> Verdict:
    """The candidate becomes the champion when there is none, or when its FID is lower than the
    champion's under the same judge (``champion`` then holds the FID it got from that judge,
    ``rejudged`` saying whether it had to be judged again). A champion judged by another judge
    is never compared: it stays, and the reason says so."""
    fid = float(candidate["fid"])
    if champion is None:
        return Verdict(True, f"No champion yet: this generator (FID {fid:.2f}) becomes it.")
    version, champion_fid = champion["version"], float(champion["fid"])
    if not same_judge(candidate, champion):
        return Verdict(
            False,
            f"The champion (version {version}) was judged by another judge "
            f"({_judge(champion)} against {_judge(candidate)}): not compared, it stays.",
        )
    how = "re-judged by this run's judge" if champion.get("rejudged") else "same judge"
    if fid < champion_fid:
        return Verdict(
            True,
            f"FID {fid:.2f} beats the champion's {champion_fid:.2f} (version {version}, {how}): "
            "this generator becomes the champion.",
        )
    return Verdict(
        False,
        f"FID {fid:.2f} does not beat the champion's {champion_fid:.2f} (version {version}, "
        f"{how}): the champion stays.",
    )


def _judge(tags: dict[str, Any]) -> str:
    return ", ".join(f"{key} {tags.get(key)}" for key in JUDGE_KEYS)
