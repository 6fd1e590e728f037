using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Domain;

public sealed class ScenarioParserTests
{
    private static ValidationProblem SingleProblem(string json)
    {
        var result = ScenarioParser.Parse(json);
        Assert.Null(result.Scenario);
        Assert.False(result.IsValid);
        return Assert.Single(result.Problems);
    }

    [Fact]
    public void Unknown_property_is_named_with_its_path()
    {
        var problem = SingleProblem("""
            { "id": "s", "title": "T", "channelId": "sandbox", "triggers": [{ "type": "follow" }],
              "steps": [{ "type": "wait", "id": "w", "dayz": 3 }] }
            """);

        Assert.Equal("$.steps[0].dayz", problem.Path);
        Assert.Contains("'dayz'", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_step_type_points_at_the_type()
    {
        var problem = SingleProblem("""{ "id": "s", "title": "T", "channelId": "c", "steps": [{ "type": "sleep", "id": "w" }] }""");

        Assert.Equal("$.steps[0].type", problem.Path);
        Assert.Contains("'sleep'", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_step_type_points_at_the_type()
    {
        var problem = SingleProblem("""{ "id": "s", "title": "T", "channelId": "c", "steps": [{ "id": "w" }] }""");

        Assert.Equal("$.steps[0].type", problem.Path);
    }

    [Fact]
    public void Missing_required_property_is_named()
    {
        var problem = SingleProblem("""{ "title": "T", "channelId": "c" }""");

        Assert.Equal("$.id", problem.Path);
        Assert.Contains("'id'", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_value_kind_says_what_was_expected()
    {
        var number = SingleProblem("""{ "id": "s", "title": "T", "channelId": "c", "steps": [{ "type": "wait", "id": "w", "days": "three" }] }""");
        var policy = SingleProblem("""{ "id": "s", "title": "T", "channelId": "c", "reentry": "sometimes" }""");

        Assert.Equal("$.steps[0].days", number.Path);
        Assert.Contains("whole number", number.Message, StringComparison.Ordinal);
        Assert.Equal("$.reentry", policy.Path);
        Assert.Contains("afterCompletion", policy.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_that_is_not_an_object_fails_to_parse_at_its_path()
    {
        var problem = SingleProblem("""{ "id": "s", "title": "T", "channelId": "c", "steps": [{ "type": "send", "id": "s", "messages": ["hi"] }] }""");

        Assert.Equal("$.steps[0].messages[0]", problem.Path);
    }

    [Fact]
    public void Malformed_json_gives_line_and_position()
    {
        var problem = SingleProblem("{\n  \"id\": \"s\",,\n}");

        Assert.Equal("$", problem.Path);
        Assert.Contains("line 2", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_is_not_a_scenario()
    {
        Assert.Equal("$", SingleProblem("null").Path);
    }

    [Fact]
    public void Readable_json_returns_the_scenario_with_its_validation_problems()
    {
        var result = ScenarioParser.Parse("""{ "id": "s", "title": "T", "channelId": "c", "triggers": [], "steps": [] }""");

        Assert.NotNull(result.Scenario);
        Assert.Equal(["$.triggers", "$.steps"], result.Problems.Select(problem => problem.Path));
    }
}
