using System.Collections.Immutable;

namespace Stepcast.Grains.Scenarios;

/// <summary>How a friend's text is matched against keywords, for keyword triggers and auto-replies alike.</summary>
public static class KeywordMatching
{
    /// <summary>
    /// <see cref="KeywordMatch.Exact"/>: the trimmed text equals a trimmed keyword; <see cref="KeywordMatch.Contains"/>:
    /// the text contains a keyword. Both ignore case. Returns the first keyword that matches, or null.
    /// </summary>
    public static string? FirstMatch(ImmutableArray<string> keywords, KeywordMatch match, string text)
    {
        if (keywords.IsDefault)
        {
            return null;
        }

        foreach (var keyword in keywords)
        {
            if (string.IsNullOrWhiteSpace(keyword))
            {
                continue;
            }

            var matches = match == KeywordMatch.Contains
                ? text.Contains(keyword, StringComparison.OrdinalIgnoreCase)
                : string.Equals(text.Trim(), keyword.Trim(), StringComparison.OrdinalIgnoreCase);
            if (matches)
            {
                return keyword;
            }
        }

        return null;
    }
}
