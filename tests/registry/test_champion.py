"""The champion's verdict: the lowest FID wins, and only under the same judge."""

from wgan_pipeline.registry.champion import champion_verdict, same_judge

JUDGE = {"judge": "abc", "judge_samples": 10000, "judge_seed": 1234}


def test_the_first_generator_becomes_the_champion():
    verdict = champion_verdict({"fid": 30.0, **JUDGE}, None)
    assert verdict.crown and "No champion yet" in verdict.reason


def test_a_lower_fid_under_the_same_judge_wins_a_higher_one_does_not():
    champion = {"version": "3", "fid": "30.0", **JUDGE}  # tags come back as strings
    better = champion_verdict({"fid": 20.0, **JUDGE}, champion)
    worse = champion_verdict({"fid": 40.0, **JUDGE}, champion)
    assert better.crown and "beats the champion's 30.00 (version 3, same judge)" in better.reason
    assert not worse.crown and "the champion stays" in worse.reason


def test_another_judge_is_never_compared_blindly():
    champion = {"version": "3", "fid": 90.0, **JUDGE, "judge": "other"}
    verdict = champion_verdict({"fid": 1.0, **JUDGE}, champion)  # far lower, but another judge
    assert (
        not verdict.crown and "another judge" in verdict.reason and "not compared" in verdict.reason
    )
    # Another image count or seed is another judge too.
    assert not same_judge(JUDGE, {**JUDGE, "judge_samples": 2000})
    assert not same_judge(JUDGE, {**JUDGE, "judge_seed": 1})
    assert same_judge(JUDGE, {k: str(v) for k, v in JUDGE.items()})


def test_a_rejudged_champion_is_compared_and_the_reason_says_so():
    champion = {"version": "3", "fid": 25.0, "rejudged": True, **JUDGE}
    verdict = champion_verdict({"fid": 20.0, **JUDGE}, champion)
    assert verdict.crown and "re-judged" in verdict.reason
