using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Domain;

public sealed class ConditionEvaluatorTests
{
    private static readonly DateTimeOffset Entered = new(2026, 4, 1, 10, 0, 0, TimeSpan.FromHours(9));

    private static FriendFacts Facts(
        Dictionary<string, string>? attributes = null,
        string[]? tags = null,
        SeenEvent[]? events = null,
        string? reply = null,
        DateTimeOffset? repliedAt = null) => new()
        {
            FriendKey = "sandbox:U0123",
            Attributes = attributes ?? [],
            Tags = new HashSet<string>(tags ?? []),
            Events = events ?? [],
            LastReplyText = reply,
            LastReplyAt = repliedAt,
            EnteredAt = Entered,
        };

    private static AttributeCondition Attribute(string name, AttributeOperator op, string? value = null, params string[] values) =>
        new() { Name = name, Op = op, Value = value, Values = [.. values] };

    [Fact]
    public void Eq_compares_text_case_insensitively()
    {
        var facts = Facts(new() { ["gender"] = "Female" });

        Assert.True(ConditionEvaluator.Evaluate(Attribute("gender", AttributeOperator.Eq, "female"), facts));
        Assert.False(ConditionEvaluator.Evaluate(Attribute("gender", AttributeOperator.Eq, "male"), facts));
    }

    [Fact]
    public void Attribute_names_match_regardless_of_case()
    {
        Assert.True(ConditionEvaluator.Evaluate(Attribute("Area", AttributeOperator.Eq, "東京"), Facts(new() { ["area"] = "東京" })));
    }

    [Fact]
    public void Ne_is_the_negation_of_eq_so_a_missing_attribute_is_not_equal()
    {
        Assert.True(ConditionEvaluator.Evaluate(Attribute("gender", AttributeOperator.Ne, "male"), Facts()));
        Assert.False(ConditionEvaluator.Evaluate(Attribute("gender", AttributeOperator.Ne, "male"), Facts(new() { ["gender"] = "MALE" })));
    }

    [Fact]
    public void In_matches_any_listed_value()
    {
        var condition = Attribute("os", AttributeOperator.In, null, "ios", "android");

        Assert.True(ConditionEvaluator.Evaluate(condition, Facts(new() { ["os"] = "iOS" })));
        Assert.False(ConditionEvaluator.Evaluate(condition, Facts(new() { ["os"] = "web" })));
        Assert.False(ConditionEvaluator.Evaluate(condition, Facts()));
    }

    [Fact]
    public void Contains_finds_a_case_insensitive_substring()
    {
        var facts = Facts(new() { ["favourite"] = "Hokkaido Scallops" });

        Assert.True(ConditionEvaluator.Evaluate(Attribute("favourite", AttributeOperator.Contains, "scallop"), facts));
        Assert.False(ConditionEvaluator.Evaluate(Attribute("favourite", AttributeOperator.Contains, "oyster"), facts));
    }

    [Theory]
    [InlineData(AttributeOperator.Gt, "29", true)]
    [InlineData(AttributeOperator.Gt, "30", false)]
    [InlineData(AttributeOperator.Gte, "30", true)]
    [InlineData(AttributeOperator.Lt, "30.5", true)]
    [InlineData(AttributeOperator.Lte, "30", true)]
    [InlineData(AttributeOperator.Lte, "29.99", false)]
    public void Numeric_operators_compare_as_numbers(AttributeOperator op, string value, bool expected)
    {
        Assert.Equal(expected, ConditionEvaluator.Evaluate(Attribute("age", op, value), Facts(new() { ["age"] = "30" })));
    }

    [Fact]
    public void Numbers_compare_numerically_not_as_text()
    {
        Assert.True(ConditionEvaluator.Evaluate(Attribute("age", AttributeOperator.Gt, "9"), Facts(new() { ["age"] = "10" })));
    }

    [Fact]
    public void Numbers_use_the_invariant_culture()
    {
        var facts = Facts(new() { ["points"] = "1,5" });

        Assert.False(ConditionEvaluator.Evaluate(Attribute("points", AttributeOperator.Gt, "1"), facts));
        Assert.False(ConditionEvaluator.Evaluate(Attribute("points", AttributeOperator.Lte, "1"), facts));
    }

    [Fact]
    public void Numeric_operators_are_false_when_the_attribute_is_not_a_number_or_missing()
    {
        foreach (var op in new[] { AttributeOperator.Gt, AttributeOperator.Gte, AttributeOperator.Lt, AttributeOperator.Lte })
        {
            Assert.False(ConditionEvaluator.Evaluate(Attribute("age", op, "20"), Facts(new() { ["age"] = "unknown" })));
            Assert.False(ConditionEvaluator.Evaluate(Attribute("age", op, "20"), Facts()));
        }
    }

    [Fact]
    public void Exists_needs_a_non_empty_value()
    {
        var condition = Attribute("birthday", AttributeOperator.Exists);

        Assert.True(ConditionEvaluator.Evaluate(condition, Facts(new() { ["birthday"] = "1990-05-01" })));
        Assert.False(ConditionEvaluator.Evaluate(condition, Facts(new() { ["birthday"] = " " })));
        Assert.False(ConditionEvaluator.Evaluate(condition, Facts()));
    }

    [Fact]
    public void Tag_condition_checks_the_friend_s_tags()
    {
        var condition = new TagCondition { Tag = "vip" };

        Assert.True(ConditionEvaluator.Evaluate(condition, Facts(tags: ["vip", "tokyo"])));
        Assert.False(ConditionEvaluator.Evaluate(condition, Facts(tags: ["tokyo"])));
    }

    [Fact]
    public void Event_condition_by_default_only_counts_events_since_entering_the_run()
    {
        var condition = new EventCondition { Name = "purchased" };

        Assert.False(ConditionEvaluator.Evaluate(condition, Facts(events: [new("purchased", Entered.AddDays(-1))])));
        Assert.True(ConditionEvaluator.Evaluate(condition, Facts(events: [new("purchased", Entered.AddHours(2))])));
        Assert.True(ConditionEvaluator.Evaluate(condition, Facts(events: [new("purchased", Entered)])));
    }

    [Fact]
    public void Event_condition_can_look_at_all_history()
    {
        var condition = new EventCondition { Name = "purchased", SinceEntered = false };

        Assert.True(ConditionEvaluator.Evaluate(condition, Facts(events: [new("purchased", Entered.AddYears(-1))])));
        Assert.False(ConditionEvaluator.Evaluate(condition, Facts(events: [new("cart_abandoned", Entered.AddHours(1))])));
    }

    [Fact]
    public void Exact_keyword_matches_the_trimmed_reply_ignoring_case()
    {
        var condition = new KeywordCondition { Keywords = ["はい", "Yes"] };

        Assert.True(ConditionEvaluator.Evaluate(condition, Facts(reply: "  yes ", repliedAt: Entered.AddHours(1))));
        Assert.True(ConditionEvaluator.Evaluate(condition, Facts(reply: "はい", repliedAt: Entered.AddHours(1))));
        Assert.False(ConditionEvaluator.Evaluate(condition, Facts(reply: "yes please", repliedAt: Entered.AddHours(1))));
    }

    [Fact]
    public void Contains_keyword_matches_anywhere_in_the_reply()
    {
        var condition = new KeywordCondition { Keywords = ["クーポン", "coupon"], Match = KeywordMatch.Contains };

        Assert.True(ConditionEvaluator.Evaluate(condition, Facts(reply: "クーポンください", repliedAt: Entered.AddMinutes(5))));
        Assert.True(ConditionEvaluator.Evaluate(condition, Facts(reply: "Any COUPON today?", repliedAt: Entered.AddMinutes(5))));
        Assert.False(ConditionEvaluator.Evaluate(condition, Facts(reply: "hello", repliedAt: Entered.AddMinutes(5))));
    }

    [Fact]
    public void A_reply_from_before_the_run_does_not_match_a_keyword()
    {
        var condition = new KeywordCondition { Keywords = ["yes"] };

        Assert.False(ConditionEvaluator.Evaluate(condition, Facts(reply: "yes", repliedAt: Entered.AddSeconds(-1))));
        Assert.False(ConditionEvaluator.Evaluate(condition, Facts(reply: "yes", repliedAt: null)));
        Assert.False(ConditionEvaluator.Evaluate(condition, Facts()));
    }

    [Fact]
    public void All_any_and_not_combine_conditions()
    {
        var facts = Facts(new() { ["age"] = "35" }, tags: ["vip"]);
        Condition vip = new TagCondition { Tag = "vip" };
        Condition young = Attribute("age", AttributeOperator.Lt, "30");

        Assert.False(ConditionEvaluator.Evaluate(new AllCondition { Conditions = [vip, young] }, facts));
        Assert.True(ConditionEvaluator.Evaluate(new AnyCondition { Conditions = [vip, young] }, facts));
        Assert.True(ConditionEvaluator.Evaluate(new AllCondition { Conditions = [vip, new NotCondition { Condition = young }] }, facts));
        Assert.False(ConditionEvaluator.Evaluate(new NotCondition { Condition = vip }, facts));
    }
}
