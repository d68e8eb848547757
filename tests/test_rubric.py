"""The rubric: every point names its rule and quotes the reply; timing, guesses, drift, dislikes, closing."""

from scoring.rubric import Guess, ScoredReply, score_drill


def reply(number, motive, text=None, evidence=(), pressure=(), commitment=()):
    return ScoredReply(number, text or f"reply {number}", motive, tuple(evidence), tuple(pressure), tuple(commitment))


def items_by_rule(score):
    return {item.rule: item for item in score.items if item.max_points or item.rule == "wrong_guess"}


def test_ideal_trainee_scores_full_marks_with_quotes():
    replies = [reply(1, "security", "we guarantee a fallback", ["guarantee", "fallback"]),
               reply(2, "security", "proven at ten utilities", ["proven"]),
               reply(3, "none", "can we set up a pilot next week?", commitment=["set up a pilot next week"])]
    score = score_drill(replies, "security", ("status",), 3)
    assert score.total == 100 and score.identified_at == 1
    rules = items_by_rule(score)
    assert rules["identification"].verdict == "identified_early" and rules["identification"].quote == "guarantee…fallback"
    assert rules["closing"].quote == "set up a pilot next week" and rules["closing"].reply == 3
    assert rules["consistency"].points == 25 and rules["avoidance"].points == 15


def test_late_identification_earns_less():
    base = [reply(1, "none"), reply(2, "details"), reply(3, "none")]
    on_time = score_drill([*base[:2], reply(3, "security")], "security", (), 3)
    one_late = score_drill([*base, reply(4, "security")], "security", (), 3)
    later = score_drill([*base, reply(4, "none"), reply(5, "security")], "security", (), 3)
    points = [items_by_rule(s)["identification"].points for s in (on_time, one_late, later)]
    assert points == [40, 25, 15]


def test_correct_guess_inside_window_counts_and_wrong_guess_costs():
    replies = [reply(1, "none"), reply(2, "none")]
    right = score_drill(replies, "status", (), 3, Guess("status", after_replies=1))
    wrong = score_drill(replies, "status", (), 3, Guess("praise", after_replies=1))
    assert items_by_rule(right)["identification"].verdict == "guessed_early"
    assert right.identified_at == 2
    assert items_by_rule(wrong)["wrong_guess"].points == -10
    assert wrong.total == items_by_rule(wrong)["avoidance"].points - 10 + items_by_rule(wrong)["consistency"].points


def test_drift_is_quoted():
    replies = [reply(1, "details", evidence=["spec sheet"]), reply(2, "praise", "your team is great", ["team is great"])]
    score = score_drill(replies, "details", (), 3)
    consistency = items_by_rule(score)["consistency"]
    assert consistency.verdict == "drifted" and consistency.reply == 2 and consistency.quote == "team is great"
    assert consistency.points == 0


def test_dislikes_and_hard_sell_cost_five_each_and_are_quoted():
    replies = [reply(1, "status", evidence=["be the first"]), reply(2, "none", pressure=["sign today"]),
               reply(3, "status", evidence=["lead the industry"])]
    score = score_drill(replies, "security", ("status",), 3)
    minus = [i for i in score.items if i.rule == "avoidance" and i.max_points == 0]
    assert [(i.verdict, i.reply, i.quote, i.points) for i in minus] == [
        ("disliked_motive", 1, "be the first", -5), ("hard_sell", 2, "sign today", -5),
        ("disliked_motive", 3, "lead the industry", -5)]
    assert items_by_rule(score)["avoidance"].points == 0
    assert score.total == 0


def test_careless_trainee_scores_low():
    replies = [reply(1, "status", pressure=["sign today"]), reply(2, "none"), reply(3, "praise"), reply(4, "none")]
    assert score_drill(replies, "security", ("status",), 3).total <= 40


def test_pushing_to_sign_is_not_a_commitment_ask():
    replies = [reply(1, "security"), reply(2, "none", "sign today", pressure=["sign today"], commitment=["sign today"])]
    closing = items_by_rule(score_drill(replies, "security", (), 3))["closing"]
    assert (closing.verdict, closing.points, closing.reply, closing.quote) == ("pushed_not_asked", 0, 2, "sign today")
