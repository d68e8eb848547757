"""Objection rubrics: the deck's rules as points, with quotes; bashing and caving cost the most."""

from scoring.objection_rubric import BehaviourReply, score_price, score_rumour


def reply(number, text, **shown):
    return BehaviourReply(number, text, {key: tuple(words) for key, words in shown.items()})


def by_rule(score):
    return {item.rule: item for item in score.items if item.max_points}


def test_false_rumour_good_handling_scores_full():
    replies = [reply(1, "I understand the worry. Let's look at your schedule for the rollout.", calm=["I understand"],
                     redirects=["Let's look at your schedule"], confident=["rollout"])]
    score = score_rumour(replies, true_rumour=False, outcome="resolved", presses=0)
    assert score.total == 100
    assert by_rule(score)["redirect"].quote == "Let's look at your schedule"


def test_true_rumour_needs_acknowledgement_and_humour():
    replies = [reply(1, "Yes, we were late last spring — not our finest hour.", acknowledges=["we were late"],
                     humour=["not our finest hour"], confident=[])]
    score = score_rumour(replies, true_rumour=True, outcome="resolved", presses=0)
    rules = by_rule(score)
    assert rules["acknowledge"].points == 25 and rules["humour"].quote == "not our finest hour"
    assert rules["confidence"].points == 10  # shown with no evidence words: the reply itself is quoted
    assert score.total == 100


def test_bashing_costs_most_and_repeated_concern_costs_per_press():
    replies = [reply(1, "They are liars.", bashes_competitor=["They are liars"], defensive=["liars"]),
               reply(2, "Fine, let's move on to the schedule.", redirects=["move on to the schedule"])]
    score = score_rumour(replies, true_rumour=False, outcome="resolved", presses=1)
    rules = by_rule(score)
    assert rules["no_bashing"].points == 0 and rules["stay_calm"].points == 7
    assert rules["resolved"].points == 15 and rules["resolved"].verdict == "resolved_after_press"
    minus = [(i.rule, i.reply, i.quote) for i in score.items if i.points < 0]
    assert ("no_bashing", 1, "They are liars") in minus
    assert score.total <= 50


def test_price_caving_costs_most_and_trading_earns():
    caved = score_price([reply(1, "OK, 20% off, deal.", immediate_discount=["20% off"])], outcome="bad_deal")
    assert by_rule(caved)["no_cave"].points == 0 and by_rule(caved)["no_cave"].quote == "20% off"
    assert caved.total <= 40
    good = score_price([
        reply(1, "What happened last time that makes price the first question?", probes_reason=["last time"]),
        reply(2, "Over five years the running cost is lower; I can look at options.", value_framing=["running cost"],
              leaves_room=["look at options"]),
        reply(3, "If you sign for three years I can do 5%.", trades_concession=["If you sign for three years"],
              immediate_discount=["5%"])], outcome="committed")
    assert good.total == 100  # a conditional concession is a trade, not a cave


def test_self_focus_is_quoted():
    score = score_price([reply(1, "My quarterly target is tough.", self_focused=["My quarterly target"])], "bad_deal")
    focus = [i for i in score.items if i.rule == "customer_focus" and i.points < 0]
    assert focus and focus[0].quote == "My quarterly target"
