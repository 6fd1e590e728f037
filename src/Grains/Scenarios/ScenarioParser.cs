using System.Text.Json;
using System.Text.RegularExpressions;

namespace Stepcast.Grains.Scenarios;

/// <summary>The outcome of reading scenario JSON: the scenario when it could be read, and every problem found.</summary>
public sealed record ScenarioParseResult(ScenarioDefinition? Scenario, IReadOnlyList<ValidationProblem> Problems)
{
    public bool IsValid => Scenario is not null && Problems.Count == 0;
}

/// <summary>
/// Reads scenario JSON (the shape in docs/scenarios.md) and validates it. JSON that cannot be read at all yields a
/// single problem whose message names the property or value at fault in the scenario's own vocabulary rather than
/// .NET type names.
/// </summary>
public static partial class ScenarioParser
{
    public static ScenarioParseResult Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);

        ScenarioDefinition scenario;
        try
        {
            scenario = ScenarioJson.Deserialize(json);
        }
        catch (JsonException exception)
        {
            return Failed(Describe(exception.Path, exception.Message, exception.LineNumber, exception.BytePositionInLine,
                IsMalformed(exception)));
        }
        catch (NotSupportedException exception) when (TrailingPath().Match(exception.Message) is { Success: true } match)
        {
            // System.Text.Json reports a missing discriminator as NotSupportedException, with the path only in the text.
            var path = match.Groups["path"].Value;
            return Failed(exception.Message.Contains("type discriminator", StringComparison.Ordinal)
                ? new ValidationProblem($"{path}.type", "Missing \"type\": say which kind of step, trigger or condition this is.")
                : new ValidationProblem(path, StripPath(exception.Message)));
        }

        return new ScenarioParseResult(scenario, ScenarioValidator.Validate(scenario));
    }

    // The reader's own exception type is internal; the serializer wraps it, or it surfaces as a JsonException subtype.
    private static bool IsMalformed(JsonException exception) =>
        exception.GetType() != typeof(JsonException) || exception.InnerException is JsonException;

    private static ScenarioParseResult Failed(ValidationProblem problem) => new(null, [problem]);

    private static ValidationProblem Describe(string? path, string message, long? line, long? position, bool malformed)
    {
        path = string.IsNullOrEmpty(path) ? "$" : path;

        if (UnknownProperty().Match(message) is { Success: true } unknown)
        {
            // The path already ends with the unknown property's name.
            return new(path, $"Unknown property '{unknown.Groups["name"].Value}'.");
        }

        if (MissingRequired().Match(message) is { Success: true } missing)
        {
            var names = missing.Groups["names"].Value.Replace("'", "", StringComparison.Ordinal).TrimEnd('.');
            return names.Contains(',', StringComparison.Ordinal)
                ? new(path, $"Missing required properties: {names}.")
                : new($"{path}.{names}", $"Missing required property '{names}'.");
        }

        if (UnknownDiscriminator().Match(message) is { Success: true } discriminator)
        {
            return new($"{path}.type", $"Unknown type '{discriminator.Groups["type"].Value}'.");
        }

        if (NotConvertible().Match(message) is { Success: true } conversion)
        {
            return new(path, $"Invalid value: expected {Expected(conversion.Groups["type"].Value)}.");
        }

        var text = StripPath(message);
        if (malformed && line is not null)
        {
            // JsonException counts lines and bytes from zero; editors count from one.
            return new(path, $"Malformed JSON at line {line + 1}, position {position + 1}: {text}");
        }

        return new(path, text);
    }

    private static string Expected(string dotNetType)
    {
        switch (dotNetType)
        {
            case "System.Int32":
                return "a whole number";
            case "System.String":
                return "a string";
            case "System.Boolean":
                return "true or false";
            case "System.DateTimeOffset" or "System.Nullable`1[System.DateTimeOffset]":
                return "an ISO 8601 date-time with offset, e.g. \"2026-04-01T00:00:00+09:00\"";
        }

        if (dotNetType.StartsWith("System.Collections.Immutable.ImmutableArray", StringComparison.Ordinal))
        {
            return "an array";
        }

        if (typeof(ScenarioDefinition).Assembly.GetType(dotNetType) is { IsEnum: true } enumType)
        {
            return "one of " + string.Join(", ", Enum.GetNames(enumType).Select(JsonNamingPolicy.CamelCase.ConvertName));
        }

        return "a JSON object";
    }

    private static string StripPath(string message) => TrailingPath().Replace(message, "").Trim();

    [GeneratedRegex(@"The JSON property '(?<name>.*)' could not be mapped")]
    private static partial Regex UnknownProperty();

    [GeneratedRegex(@"missing required properties including: (?<names>.*)$")]
    private static partial Regex MissingRequired();

    [GeneratedRegex(@"unrecognized type discriminator id '(?<type>.*)'")]
    private static partial Regex UnknownDiscriminator();

    [GeneratedRegex(@"could not be converted to (?<type>\S+?)\.? Path:")]
    private static partial Regex NotConvertible();

    [GeneratedRegex(@"\s*Path: (?<path>\S+) \|.*$")]
    private static partial Regex TrailingPath();
}
