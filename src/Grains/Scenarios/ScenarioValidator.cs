using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;

namespace Stepcast.Grains.Scenarios;

/// <summary>
/// Checks a scenario before it is saved or published and reports every problem at once, each with the JSON path of
/// the offending field, so a marketer can fix them all in one go. The rules are listed in docs/scenarios.md.
/// </summary>
public static class ScenarioValidator
{
    public const int MaxMessagesPerSend = 5;
    public const int MaxTextLength = 5000;

    /// <summary>The message types LINE's push API accepts, in the order error messages list them.</summary>
    public static IReadOnlyList<string> MessageTypes { get; } =
        ["text", "image", "video", "audio", "location", "sticker", "imagemap", "template", "flex", "coupon"];

    public static IReadOnlyList<ValidationProblem> Validate(ScenarioDefinition scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var problems = new List<ValidationProblem>();

        RequireText(problems, "$.id", scenario.Id, "Scenario id is required.");
        RequireText(problems, "$.title", scenario.Title, "Title is required.");
        RequireText(problems, "$.channelId", scenario.ChannelId, "Channel id is required.");
        ValidateTimeZone(problems, scenario.TimeZone);
        ValidateValidity(problems, scenario.Validity);
        if (!Enum.IsDefined(scenario.Reentry))
        {
            problems.Add(new("$.reentry", "Re-entry must be one of never, afterCompletion, always."));
        }

        if (!Enum.IsDefined(scenario.OnUnblock))
        {
            problems.Add(new("$.onUnblock", "On-unblock must be one of restart, resume, ignore."));
        }

        if (scenario.ConversionEvent is { } conversion && string.IsNullOrWhiteSpace(conversion))
        {
            problems.Add(new("$.conversionEvent", "A conversion event needs a name, e.g. \"purchased\"; leave the property out for none."));
        }

        ValidateTriggers(problems, OrEmpty(scenario.Triggers));
        ValidateSteps(problems, OrEmpty(scenario.Steps));
        return problems;
    }

    private static void ValidateTimeZone(List<ValidationProblem> problems, string? timeZone)
    {
        if (string.IsNullOrWhiteSpace(timeZone))
        {
            problems.Add(new("$.timeZone", "Time zone is required, e.g. \"Asia/Tokyo\"."));
        }
        else if (!TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out var zone) || !zone.HasIanaId)
        {
            problems.Add(new("$.timeZone", $"'{timeZone}' is not an IANA time zone name such as \"Asia/Tokyo\"."));
        }
        else if (!string.Equals(zone.Id, timeZone, StringComparison.Ordinal))
        {
            // Lookups may forgive case on one machine and not on another; store the canonical spelling.
            problems.Add(new("$.timeZone", $"Write the time zone as '{zone.Id}'."));
        }
    }

    private static void ValidateValidity(List<ValidationProblem> problems, ValidityPeriod? validity)
    {
        if (validity is { From: { } from, Until: { } until } && from >= until)
        {
            problems.Add(new("$.validity.until", "The validity period must end after it starts (until > from)."));
        }
    }

    private static void ValidateTriggers(List<ValidationProblem> problems, ImmutableArray<ScenarioTrigger> triggers)
    {
        if (triggers.IsEmpty)
        {
            problems.Add(new("$.triggers", "At least one trigger is required."));
        }

        for (var i = 0; i < triggers.Length; i++)
        {
            var path = $"$.triggers[{i}]";
            switch (triggers[i])
            {
                case null:
                    problems.Add(new(path, "A trigger cannot be null."));
                    break;
                case EventTrigger trigger:
                    RequireText(problems, $"{path}.name", trigger.Name, "Event name is required.");
                    break;
                case KeywordTrigger trigger:
                    ValidateKeywords(problems, path, trigger.Keywords, trigger.Match);
                    break;
                case TagAddedTrigger trigger:
                    RequireText(problems, $"{path}.tag", trigger.Tag, "Tag is required.");
                    break;
            }
        }
    }

    /// <summary>Shared with <see cref="Channels.AutoReplyValidator"/>: auto-replies match keywords as keyword triggers do.</summary>
    internal static void ValidateKeywords(List<ValidationProblem> problems, string path, ImmutableArray<string> keywords, KeywordMatch match)
    {
        keywords = OrEmpty(keywords);
        if (keywords.IsEmpty)
        {
            problems.Add(new($"{path}.keywords", "At least one keyword is required."));
        }

        for (var k = 0; k < keywords.Length; k++)
        {
            RequireText(problems, $"{path}.keywords[{k}]", keywords[k], "A keyword cannot be empty.");
        }

        if (!Enum.IsDefined(match))
        {
            problems.Add(new($"{path}.match", "Match must be exact or contains."));
        }
    }

    private static void ValidateSteps(List<ValidationProblem> problems, ImmutableArray<ScenarioStep> steps)
    {
        if (steps.IsEmpty)
        {
            problems.Add(new("$.steps", "At least one step is required."));
            return;
        }

        var indexById = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Length; i++)
        {
            if (steps[i] is null)
            {
                problems.Add(new($"$.steps[{i}]", "A step cannot be null."));
            }
            else if (string.IsNullOrWhiteSpace(steps[i].Id))
            {
                problems.Add(new($"$.steps[{i}].id", "Step id is required."));
            }
            else if (!indexById.TryAdd(steps[i].Id, i))
            {
                problems.Add(new($"$.steps[{i}].id", $"Step id '{steps[i].Id}' is already used by $.steps[{indexById[steps[i].Id]}]."));
            }
        }

        for (var i = 0; i < steps.Length; i++)
        {
            if (steps[i] is not { } step)
            {
                continue;
            }

            var path = $"$.steps[{i}]";
            RequireReference(problems, $"{path}.next", step.Next, indexById);
            switch (step)
            {
                case WaitStep wait:
                    ValidateWait(problems, path, wait);
                    break;
                case WaitForEventStep wait:
                    ValidateWaitForEvent(problems, path, wait, indexById);
                    break;
                case BranchStep branch:
                    ValidateBranch(problems, path, branch, indexById);
                    break;
                case SplitStep split:
                    ValidateSplit(problems, path, split, indexById);
                    break;
                case SendStep send:
                    ValidateSend(problems, path, send);
                    break;
                case TagStep tag:
                    ValidateTag(problems, path, tag);
                    break;
                case ExitStep when step.Next is not null:
                    problems.Add(new($"{path}.next", "An exit step ends the run; remove next."));
                    break;
            }
        }

        ValidateLoops(problems, steps);
    }

    private static void ValidateWait(List<ValidationProblem> problems, string path, WaitStep wait)
    {
        RequireNotNegative(problems, $"{path}.days", wait.Days);
        RequireNotNegative(problems, $"{path}.hours", wait.Hours);
        RequireNotNegative(problems, $"{path}.minutes", wait.Minutes);

        if (wait.At is not null)
        {
            if (!TimeOfDay.TryParseHhMm(wait.At, out _))
            {
                problems.Add(new($"{path}.at", $"'{wait.At}' is not a local time in HH:mm form (00:00–23:59)."));
            }

            if (wait.Hours != 0 || wait.Minutes != 0)
            {
                // The scheduler ignores them with `at`; saying so beats a message sent at a surprising time.
                problems.Add(new($"{path}.at", "With at, use days only; hours and minutes are not added to a time of day."));
            }
        }

        var windows = OrEmpty(wait.QuietHours);
        var minutes = new List<(int Start, int End)>?[windows.Length];
        for (var q = 0; q < windows.Length; q++)
        {
            var windowPath = $"{path}.quietHours[{q}]";
            if (windows[q] is not { } window)
            {
                problems.Add(new(windowPath, "A quiet-hours window cannot be null."));
                continue;
            }

            var startOk = TimeOfDay.TryParseHhMm(window.Start, out var start);
            var endOk = TimeOfDay.TryParseHhMm(window.End, out var end);
            if (!startOk)
            {
                problems.Add(new($"{windowPath}.start", $"'{window.Start}' is not a local time in HH:mm form (00:00–23:59)."));
            }

            if (!endOk)
            {
                problems.Add(new($"{windowPath}.end", $"'{window.End}' is not a local time in HH:mm form (00:00–23:59)."));
            }

            if (startOk && endOk)
            {
                if (start == end)
                {
                    problems.Add(new(windowPath, "Quiet hours must start and end at different times."));
                }
                else
                {
                    minutes[q] = MinuteRanges(start, end);
                }
            }
        }

        for (var a = 0; a < windows.Length; a++)
        {
            for (var b = a + 1; b < windows.Length; b++)
            {
                if (minutes[a] is { } first && minutes[b] is { } second && Overlap(first, second))
                {
                    problems.Add(new($"{path}.quietHours[{b}]", $"Quiet hours overlap quietHours[{a}]; merge them into one window."));
                }
            }
        }
    }

    // A window crossing midnight is two ranges of the 0..1440 minute day.
    private static List<(int Start, int End)> MinuteRanges(TimeOnly start, TimeOnly end)
    {
        var from = start.Hour * 60 + start.Minute;
        var to = end.Hour * 60 + end.Minute;
        return from < to ? [(from, to)] : [(from, 24 * 60), (0, to)];
    }

    private static bool Overlap(List<(int Start, int End)> first, List<(int Start, int End)> second) =>
        first.Any(a => second.Any(b => a.Start < b.End && b.Start < a.End));

    private static void ValidateWaitForEvent(List<ValidationProblem> problems, string path, WaitForEventStep wait, Dictionary<string, int> indexById)
    {
        RequireText(problems, $"{path}.event", wait.Event, "Event name is required.");
        if (wait.Timeout is not { } timeout)
        {
            problems.Add(new($"{path}.timeout", "A timeout is required, e.g. {\"days\": 3}."));
        }
        else
        {
            RequireNotNegative(problems, $"{path}.timeout.days", timeout.Days);
            RequireNotNegative(problems, $"{path}.timeout.hours", timeout.Hours);
            RequireNotNegative(problems, $"{path}.timeout.minutes", timeout.Minutes);
            if (timeout is { Days: >= 0, Hours: >= 0, Minutes: >= 0 } && timeout.Days + timeout.Hours + timeout.Minutes == 0)
            {
                problems.Add(new($"{path}.timeout", "The timeout must be longer than zero."));
            }
        }

        RequireReference(problems, $"{path}.onEvent", wait.OnEvent, indexById);
        RequireReference(problems, $"{path}.onTimeout", wait.OnTimeout, indexById);
    }

    private static void ValidateBranch(List<ValidationProblem> problems, string path, BranchStep branch, Dictionary<string, int> indexById)
    {
        var cases = OrEmpty(branch.Cases);
        if (cases.IsEmpty)
        {
            problems.Add(new($"{path}.cases", "A branch needs at least one case."));
        }

        for (var c = 0; c < cases.Length; c++)
        {
            var casePath = $"{path}.cases[{c}]";
            if (cases[c] is not { } @case)
            {
                problems.Add(new(casePath, "A case cannot be null."));
                continue;
            }

            ValidateCondition(problems, $"{casePath}.when", @case.When);
            RequireReference(problems, $"{casePath}.goto", @case.Goto, indexById, required: true);
        }

        RequireReference(problems, $"{path}.otherwise", branch.Otherwise, indexById);
    }

    /// <summary>Checks a condition used outside a scenario (a campaign's segment); problems are reported under <paramref name="path"/>.</summary>
    public static IReadOnlyList<ValidationProblem> ValidateCondition(Condition? condition, string path)
    {
        var problems = new List<ValidationProblem>();
        ValidateCondition(problems, path, condition);
        return problems;
    }

    private static void ValidateCondition(List<ValidationProblem> problems, string path, Condition? condition)
    {
        switch (condition)
        {
            case null:
                problems.Add(new(path, "A condition is required."));
                break;
            case AttributeCondition attribute:
                ValidateAttributeCondition(problems, path, attribute);
                break;
            case TagCondition tag:
                RequireText(problems, $"{path}.tag", tag.Tag, "Tag is required.");
                break;
            case EventCondition @event:
                RequireText(problems, $"{path}.name", @event.Name, "Event name is required.");
                break;
            case KeywordCondition keyword:
                ValidateKeywords(problems, path, keyword.Keywords, keyword.Match);
                break;
            case AllCondition all:
                ValidateConditionList(problems, path, all.Conditions, "all");
                break;
            case AnyCondition any:
                ValidateConditionList(problems, path, any.Conditions, "any");
                break;
            case NotCondition not:
                ValidateCondition(problems, $"{path}.condition", not.Condition);
                break;
        }
    }

    private static void ValidateConditionList(List<ValidationProblem> problems, string path, ImmutableArray<Condition> conditions, string kind)
    {
        conditions = OrEmpty(conditions);
        if (conditions.IsEmpty)
        {
            problems.Add(new($"{path}.conditions", $"An '{kind}' condition needs at least one condition."));
        }

        for (var c = 0; c < conditions.Length; c++)
        {
            ValidateCondition(problems, $"{path}.conditions[{c}]", conditions[c]);
        }
    }

    private static void ValidateAttributeCondition(List<ValidationProblem> problems, string path, AttributeCondition attribute)
    {
        RequireText(problems, $"{path}.name", attribute.Name, "Attribute name is required.");
        switch (attribute.Op)
        {
            case AttributeOperator.In:
                var values = OrEmpty(attribute.Values);
                if (values.IsEmpty)
                {
                    problems.Add(new($"{path}.values", "The 'in' operator needs at least one value."));
                }

                for (var v = 0; v < values.Length; v++)
                {
                    if (values[v] is null)
                    {
                        problems.Add(new($"{path}.values[{v}]", "A value cannot be null."));
                    }
                }

                break;
            case AttributeOperator.Gt or AttributeOperator.Gte or AttributeOperator.Lt or AttributeOperator.Lte:
                if (!decimal.TryParse(attribute.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                {
                    problems.Add(new($"{path}.value", $"The '{JsonNamingPolicy.CamelCase.ConvertName(attribute.Op.ToString())}' operator needs a numeric value, e.g. \"20\"."));
                }

                break;
            case AttributeOperator.Eq or AttributeOperator.Ne:
                if (attribute.Value is null)
                {
                    problems.Add(new($"{path}.value", "A value is required."));
                }

                break;
            case AttributeOperator.Contains:
                if (string.IsNullOrEmpty(attribute.Value))
                {
                    problems.Add(new($"{path}.value", "The 'contains' operator needs a non-empty value."));
                }

                break;
            case AttributeOperator.Exists:
                break;
            default:
                problems.Add(new($"{path}.op", "Unknown operator; use eq, ne, in, gt, gte, lt, lte, exists or contains."));
                break;
        }
    }

    private static void ValidateSplit(List<ValidationProblem> problems, string path, SplitStep split, Dictionary<string, int> indexById)
    {
        if (split.Next is not null)
        {
            problems.Add(new($"{path}.next", "A split continues at each variant's goto; remove next."));
        }

        var variants = OrEmpty(split.Variants);
        if (variants.IsEmpty)
        {
            problems.Add(new($"{path}.variants", "A split needs at least one variant."));
        }

        RequirePercent(problems, $"{path}.holdoutPercent", split.HoldoutPercent);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var total = split.HoldoutPercent;
        for (var v = 0; v < variants.Length; v++)
        {
            var variantPath = $"{path}.variants[{v}]";
            if (variants[v] is not { } variant)
            {
                problems.Add(new(variantPath, "A variant cannot be null."));
                continue;
            }

            if (string.IsNullOrWhiteSpace(variant.Name))
            {
                problems.Add(new($"{variantPath}.name", "Variant name is required."));
            }
            else if (!names.Add(variant.Name))
            {
                problems.Add(new($"{variantPath}.name", $"Variant name '{variant.Name}' is used twice in this split."));
            }

            RequirePercent(problems, $"{variantPath}.percent", variant.Percent);
            RequireReference(problems, $"{variantPath}.goto", variant.Goto, indexById, required: true);
            total += variant.Percent;
        }

        if (total != 100)
        {
            problems.Add(new($"{path}.variants", $"Variant percentages plus holdoutPercent must add up to 100, not {total}."));
        }
    }

    private static void ValidateSend(List<ValidationProblem> problems, string path, SendStep send)
    {
        var messages = OrEmpty(send.Messages);
        if (messages.IsEmpty || messages.Length > MaxMessagesPerSend)
        {
            problems.Add(new($"{path}.messages", $"A send step sends 1 to {MaxMessagesPerSend} messages, not {messages.Length}."));
        }

        for (var m = 0; m < messages.Length; m++)
        {
            ValidateMessage(problems, $"{path}.messages[{m}]", messages[m]);
        }
    }

    /// <summary>Shared with <see cref="Channels.AutoReplyValidator"/>: a reply carries the same message objects as a push.</summary>
    internal static void ValidateMessage(List<ValidationProblem> problems, string path, LineMessage? message)
    {
        if (message?.Json is null)
        {
            problems.Add(new(path, "A message cannot be null."));
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message.Json);
        }
        catch (JsonException)
        {
            problems.Add(new(path, "The message is not valid JSON."));
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problems.Add(new(path, "A message must be a JSON object."));
                return;
            }

            if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                problems.Add(new($"{path}.type", "A message needs a string \"type\"."));
                return;
            }

            var typeName = type.GetString()!;
            if (!MessageTypes.Contains(typeName))
            {
                problems.Add(new($"{path}.type", $"Unknown message type '{typeName}'; use one of {string.Join(", ", MessageTypes)}."));
                return;
            }

            if (typeName == "text")
            {
                // LINE counts the limit in UTF-16 code units, which is what string.Length measures.
                if (!root.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                {
                    problems.Add(new($"{path}.text", "A text message needs a string \"text\"."));
                }
                else if (text.GetString()!.Length is 0 or > MaxTextLength)
                {
                    problems.Add(new($"{path}.text", $"Text must be 1 to {MaxTextLength} characters, not {text.GetString()!.Length}."));
                }
            }
        }
    }

    private static void ValidateTag(List<ValidationProblem> problems, string path, TagStep tag)
    {
        var add = OrEmpty(tag.Add);
        var remove = OrEmpty(tag.Remove);
        if (add.IsEmpty && remove.IsEmpty)
        {
            problems.Add(new($"{path}.add", "A tag step must add or remove at least one tag."));
        }

        for (var t = 0; t < add.Length; t++)
        {
            RequireText(problems, $"{path}.add[{t}]", add[t], "A tag cannot be empty.");
        }

        for (var t = 0; t < remove.Length; t++)
        {
            RequireText(problems, $"{path}.remove[{t}]", remove[t], "A tag cannot be empty.");
        }
    }

    /// <summary>
    /// A cycle through no real wait would send messages as fast as the engine can run. Only a wait that always moves
    /// time forward counts: a wait-for-event step, a wait with <c>at</c>, or a relative wait longer than zero
    /// (a zero wait is "now" outside quiet hours). Reported once per strongly connected group, on its first step.
    /// </summary>
    private static void ValidateLoops(List<ValidationProblem> problems, ImmutableArray<ScenarioStep> steps)
    {
        var indexById = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Length; i++)
        {
            if (steps[i]?.Id is { } id)
            {
                indexById.TryAdd(id, i);
            }
        }

        var edges = new List<int>[steps.Length];
        for (var i = 0; i < steps.Length; i++)
        {
            edges[i] = [];
            if (steps[i] is null || IsRealWait(steps[i]))
            {
                continue;
            }

            foreach (var successor in ScenarioFlow.Successors(steps, i))
            {
                if (indexById.TryGetValue(successor, out var target) && !IsRealWait(steps[target]))
                {
                    edges[i].Add(target);
                }
            }
        }

        foreach (var group in StronglyConnectedGroups(edges))
        {
            if (group.Count > 1 || edges[group[0]].Contains(group[0]))
            {
                group.Sort();
                var message = group.Count == 1
                    ? $"Step '{steps[group[0]].Id}' leads back to itself with no wait; add a wait or waitForEvent step to the loop."
                    : $"Steps {string.Join(", ", group.Select(i => $"'{steps[i].Id}'"))} form a loop with no wait; add a wait or waitForEvent step to it.";
                problems.Add(new($"$.steps[{group[0]}]", message));
            }
        }
    }

    private static bool IsRealWait(ScenarioStep? step) => step switch
    {
        WaitForEventStep => true,
        WaitStep { At: not null } => true,
        WaitStep wait => wait.Days > 0 || wait.Hours > 0 || wait.Minutes > 0,
        _ => false,
    };

    /// <summary>Tarjan's algorithm, iterative so a long scenario cannot exhaust the stack.</summary>
    private static List<List<int>> StronglyConnectedGroups(List<int>[] edges)
    {
        var count = edges.Length;
        var order = new int[count];
        var lowLink = new int[count];
        var onStack = new bool[count];
        Array.Fill(order, -1);
        var stack = new Stack<int>();
        var groups = new List<List<int>>();
        var next = 0;

        for (var root = 0; root < count; root++)
        {
            if (order[root] != -1)
            {
                continue;
            }

            var work = new Stack<(int Node, int Edge)>();
            Visit(root);
            work.Push((root, 0));
            while (work.Count > 0)
            {
                var (node, edge) = work.Pop();
                if (edge < edges[node].Count)
                {
                    work.Push((node, edge + 1));
                    var target = edges[node][edge];
                    if (order[target] == -1)
                    {
                        Visit(target);
                        work.Push((target, 0));
                    }
                    else if (onStack[target])
                    {
                        lowLink[node] = Math.Min(lowLink[node], order[target]);
                    }

                    continue;
                }

                if (lowLink[node] == order[node])
                {
                    var group = new List<int>();
                    int popped;
                    do
                    {
                        popped = stack.Pop();
                        onStack[popped] = false;
                        group.Add(popped);
                    }
                    while (popped != node);

                    groups.Add(group);
                }

                if (work.Count > 0)
                {
                    var parent = work.Peek().Node;
                    lowLink[parent] = Math.Min(lowLink[parent], lowLink[node]);
                }
            }
        }

        return groups;

        void Visit(int node)
        {
            order[node] = lowLink[node] = next++;
            stack.Push(node);
            onStack[node] = true;
        }
    }

    private static void RequireText(List<ValidationProblem> problems, string path, string? value, string message)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            problems.Add(new(path, message));
        }
    }

    private static void RequireNotNegative(List<ValidationProblem> problems, string path, int value)
    {
        if (value < 0)
        {
            problems.Add(new(path, $"Must be zero or more, not {value}."));
        }
    }

    private static void RequirePercent(List<ValidationProblem> problems, string path, int value)
    {
        if (value is < 0 or > 100)
        {
            problems.Add(new(path, $"A percentage must be between 0 and 100, not {value}."));
        }
    }

    private static void RequireReference(
        List<ValidationProblem> problems, string path, string? stepId, Dictionary<string, int> indexById, bool required = false)
    {
        if (stepId is null && !required)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(stepId))
        {
            problems.Add(new(path, "A step id is required."));
        }
        else if (!indexById.ContainsKey(stepId))
        {
            problems.Add(new(path, $"There is no step with id '{stepId}'."));
        }
    }

    // A scenario built in code may carry default(ImmutableArray), which throws on use; treat it as empty.
    private static ImmutableArray<T> OrEmpty<T>(ImmutableArray<T> items) => items.IsDefault ? [] : items;
}
