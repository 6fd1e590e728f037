using System.Globalization;

namespace Stepcast.Grains.Scenarios;

/// <summary>Decides branch conditions against what is known of one friend (see the docs on <see cref="Condition"/>).</summary>
public static class ConditionEvaluator
{
    public static bool Evaluate(Condition condition, FriendFacts facts)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(facts);

        return condition switch
        {
            AttributeCondition attribute => EvaluateAttribute(attribute, facts),
            TagCondition tag => facts.Tags.Contains(tag.Tag),
            EventCondition @event => facts.Events.Any(seen =>
                string.Equals(seen.Name, @event.Name, StringComparison.Ordinal)
                && (!@event.SinceEntered || seen.At >= facts.EnteredAt)),
            KeywordCondition keyword => EvaluateKeyword(keyword, facts),
            AllCondition all => all.Conditions.IsDefault || all.Conditions.All(c => Evaluate(c, facts)),
            AnyCondition any => !any.Conditions.IsDefault && any.Conditions.Any(c => Evaluate(c, facts)),
            NotCondition not => !Evaluate(not.Condition, facts),
            _ => throw new NotSupportedException($"Condition {condition.GetType().Name} has no evaluation rule."),
        };
    }

    /// <summary>
    /// A missing attribute makes every operator false except <c>ne</c>, which is always the negation of <c>eq</c>
    /// so that "not equal to male" includes friends whose gender is unknown.
    /// </summary>
    private static bool EvaluateAttribute(AttributeCondition condition, FriendFacts facts)
    {
        var actual = Lookup(facts.Attributes, condition.Name);
        return condition.Op switch
        {
            AttributeOperator.Eq => TextEquals(actual, condition.Value),
            AttributeOperator.Ne => !TextEquals(actual, condition.Value),
            AttributeOperator.In => actual is not null && !condition.Values.IsDefault
                && condition.Values.Any(value => TextEquals(actual, value)),
            AttributeOperator.Contains => actual is not null && !string.IsNullOrEmpty(condition.Value)
                && actual.Contains(condition.Value, StringComparison.OrdinalIgnoreCase),
            AttributeOperator.Exists => !string.IsNullOrWhiteSpace(actual),
            AttributeOperator.Gt => Compare(actual, condition.Value) is > 0,
            AttributeOperator.Gte => Compare(actual, condition.Value) is >= 0,
            AttributeOperator.Lt => Compare(actual, condition.Value) is < 0,
            AttributeOperator.Lte => Compare(actual, condition.Value) is <= 0,
            _ => false,
        };
    }

    private static string? Lookup(IReadOnlyDictionary<string, string> attributes, string name)
    {
        if (attributes.TryGetValue(name, out var exact))
        {
            return exact;
        }

        // Marketers type "Age" as often as "age"; an exact match above still wins when both exist.
        foreach (var (key, value) in attributes)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    private static bool TextEquals(string? actual, string? expected) =>
        actual is not null && expected is not null && string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when either side is missing or not a number, so every numeric operator is then false.</summary>
    private static int? Compare(string? actual, string? expected) =>
        TryParseNumber(actual, out var left) && TryParseNumber(expected, out var right) ? left.CompareTo(right) : null;

    private static bool TryParseNumber(string? text, out decimal number) =>
        decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out number);

    private static bool EvaluateKeyword(KeywordCondition condition, FriendFacts facts)
    {
        // A reply from before this run belongs to an earlier conversation and must not steer this one.
        if (facts.LastReplyText is not { } reply || facts.LastReplyAt is not { } repliedAt || repliedAt < facts.EnteredAt
            || condition.Keywords.IsDefault)
        {
            return false;
        }

        return condition.Match switch
        {
            KeywordMatch.Exact => condition.Keywords.Any(keyword =>
                keyword is not null && string.Equals(reply.Trim(), keyword.Trim(), StringComparison.OrdinalIgnoreCase)),
            KeywordMatch.Contains => condition.Keywords.Any(keyword =>
                !string.IsNullOrEmpty(keyword) && reply.Contains(keyword, StringComparison.OrdinalIgnoreCase)),
            _ => false,
        };
    }
}
