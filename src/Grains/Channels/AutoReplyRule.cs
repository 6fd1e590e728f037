using System.Collections.Immutable;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Channels;

/// <summary>
/// "When a friend writes one of these keywords, answer with these messages" — sent through LINE's reply API, which
/// is free of the monthly quota. A channel's rules are tried in order and the first that matches answers.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record AutoReplyRule
{
    [Id(0)] public ImmutableArray<string> Keywords { get; init; } = [];
    [Id(1)] public KeywordMatch Match { get; init; } = KeywordMatch.Exact;
    /// <summary>1 to 5 LINE message objects; placeholders such as <c>{displayName}</c> are filled as in a send.</summary>
    [Id(2)] public ImmutableArray<LineMessage> Messages { get; init; } = [];

    public bool Matches(string text) => KeywordMatching.FirstMatch(Keywords, Match, text) is not null;

    /// <summary>The first rule matching <paramref name="text"/>, or null.</summary>
    public static AutoReplyRule? FirstMatching(ImmutableArray<AutoReplyRule> rules, string text)
    {
        if (rules.IsDefault)
        {
            return null;
        }

        foreach (var rule in rules)
        {
            if (rule.Matches(text))
            {
                return rule;
            }
        }

        return null;
    }
}
