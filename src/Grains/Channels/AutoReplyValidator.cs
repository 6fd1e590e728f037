using System.Collections.Immutable;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Channels;

/// <summary>Checks a channel's auto-reply rules; paths name the offending field, e.g. <c>$[1].messages[0].text</c>.</summary>
public static class AutoReplyValidator
{
    public static IReadOnlyList<ValidationProblem> Validate(ImmutableArray<AutoReplyRule> rules)
    {
        var problems = new List<ValidationProblem>();
        if (rules.IsDefault)
        {
            return problems;
        }

        for (var r = 0; r < rules.Length; r++)
        {
            var path = $"$[{r}]";
            if (rules[r] is not { } rule)
            {
                problems.Add(new(path, "A rule cannot be null."));
                continue;
            }

            ScenarioValidator.ValidateKeywords(problems, path, rule.Keywords, rule.Match);
            var messages = rule.Messages.IsDefault ? [] : rule.Messages;
            if (messages.IsEmpty || messages.Length > ScenarioValidator.MaxMessagesPerSend)
            {
                problems.Add(new($"{path}.messages", $"A reply sends 1 to {ScenarioValidator.MaxMessagesPerSend} messages, not {messages.Length}."));
            }

            for (var m = 0; m < messages.Length; m++)
            {
                ScenarioValidator.ValidateMessage(problems, $"{path}.messages[{m}]", messages[m]);
            }
        }

        return problems;
    }
}
