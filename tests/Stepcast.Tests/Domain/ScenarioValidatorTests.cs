using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Domain;

public sealed class ScenarioValidatorTests
{
    private const string Follow = """[{ "type": "follow" }]""";
    private const string Hello = """{ "type": "send", "id": "hello", "messages": [{ "type": "text", "text": "こんにちは" }] }""";

    private static string Scenario(string steps, string triggers = Follow, string extra = "") => $$"""
        {
          "id": "test", "title": "Test", "channelId": "sandbox", "timeZone": "Asia/Tokyo",
          {{extra}}
          "triggers": {{triggers}},
          "steps": {{steps}}
        }
        """;

    private static string[] Paths(string json)
    {
        var result = ScenarioParser.Parse(json);
        Assert.NotNull(result.Scenario);
        return [.. result.Problems.Select(problem => problem.Path)];
    }

    private static void AssertPaths(string json, params string[] expected) =>
        Assert.Equal(expected.Order(StringComparer.Ordinal), Paths(json).Order(StringComparer.Ordinal));

    [Fact]
    public void A_minimal_scenario_is_valid()
    {
        AssertPaths(Scenario($"[{Hello}]"));
    }

    [Fact]
    public void Missing_id_title_and_channel_are_all_reported()
    {
        var json = $$"""{ "id": "", "title": " ", "channelId": "", "triggers": {{Follow}}, "steps": [{{Hello}}] }""";

        AssertPaths(json, "$.id", "$.title", "$.channelId");
    }

    [Theory]
    [InlineData("Asia/Tokio")]
    [InlineData("Tokyo Standard Time")]
    [InlineData("")]
    public void Time_zone_must_be_an_iana_name(string zone)
    {
        var json = $$"""{ "id": "t", "title": "T", "channelId": "sandbox", "timeZone": "{{zone}}", "triggers": {{Follow}}, "steps": [{{Hello}}] }""";

        AssertPaths(json, "$.timeZone");
    }

    [Fact]
    public void Validity_must_end_after_it_starts()
    {
        AssertPaths(
            Scenario($"[{Hello}]", extra: """ "validity": { "from": "2026-05-01T00:00:00+09:00", "until": "2026-04-01T00:00:00+09:00" }, """),
            "$.validity.until");
    }

    [Fact]
    public void Triggers_need_their_names_and_keywords()
    {
        AssertPaths(Scenario($"[{Hello}]", triggers: "[]"), "$.triggers");
        AssertPaths(
            Scenario($"[{Hello}]", triggers: """
                [
                  { "type": "event", "name": "" },
                  { "type": "keyword", "keywords": [] },
                  { "type": "keyword", "keywords": ["クーポン", " "], "match": "contains" },
                  { "type": "tagAdded", "tag": "" }
                ]
                """),
            "$.triggers[0].name", "$.triggers[1].keywords", "$.triggers[2].keywords[1]", "$.triggers[3].tag");
    }

    [Fact]
    public void Step_ids_must_be_present_and_unique()
    {
        AssertPaths(Scenario($$"""[{{Hello}}, { "type": "exit", "id": "" }, {{Hello}}]"""), "$.steps[1].id", "$.steps[2].id");
    }

    [Fact]
    public void A_scenario_needs_steps()
    {
        AssertPaths(Scenario("[]"), "$.steps");
    }

    [Fact]
    public void Every_reference_must_name_an_existing_step()
    {
        var json = Scenario("""
            [
              { "type": "send", "id": "a", "next": "nowhere", "messages": [{ "type": "text", "text": "x" }] },
              { "type": "waitForEvent", "id": "b", "event": "purchased", "timeout": { "days": 3 }, "onEvent": "missing-1", "onTimeout": "missing-2" },
              { "type": "branch", "id": "c", "cases": [{ "when": { "type": "tag", "tag": "vip" }, "goto": "missing-3" }], "otherwise": "missing-4" },
              { "type": "split", "id": "d", "variants": [{ "name": "A", "percent": 100, "goto": "missing-5" }] },
              { "type": "exit", "id": "e" }
            ]
            """);

        AssertPaths(json,
            "$.steps[0].next", "$.steps[1].onEvent", "$.steps[1].onTimeout", "$.steps[2].cases[0].goto",
            "$.steps[2].otherwise", "$.steps[3].variants[0].goto");
    }

    [Fact]
    public void A_loop_without_a_wait_is_reported_on_a_step_in_the_loop()
    {
        var json = Scenario("""
            [
              { "type": "exit", "id": "start", "next": null },
              { "type": "send", "id": "ask", "messages": [{ "type": "text", "text": "もう一度？" }] },
              { "type": "tag", "id": "mark", "add": ["asked"] },
              { "type": "branch", "id": "again", "cases": [{ "when": { "type": "tag", "tag": "asked" }, "goto": "ask" }] }
            ]
            """);

        AssertPaths(json, "$.steps[1]");
    }

    [Fact]
    public void A_self_loop_is_a_loop()
    {
        AssertPaths(Scenario("""[{ "type": "tag", "id": "t", "next": "t", "add": ["x"] }]"""), "$.steps[0]");
    }

    [Fact]
    public void A_loop_through_a_zero_wait_is_still_a_loop_but_a_real_wait_breaks_it()
    {
        const string Loop = """
            [
              { "type": "send", "id": "remind", "messages": [{ "type": "text", "text": "お忘れなく" }] },
              { "type": "wait", "id": "pause", __WAIT__ "next": "remind" }
            ]
            """;

        AssertPaths(Scenario(Loop.Replace("__WAIT__", "", StringComparison.Ordinal)), "$.steps[0]");
        AssertPaths(Scenario(Loop.Replace("__WAIT__", """ "days": 7, """, StringComparison.Ordinal)));
        AssertPaths(Scenario(Loop.Replace("__WAIT__", """ "at": "10:00", """, StringComparison.Ordinal)));
    }

    [Fact]
    public void Send_steps_carry_one_to_five_messages()
    {
        const string Message = """{ "type": "text", "text": "x" }""";
        var six = string.Join(",", Enumerable.Repeat(Message, 6));
        var five = string.Join(",", Enumerable.Repeat(Message, 5));

        AssertPaths(Scenario("""[{ "type": "send", "id": "s", "messages": [] }]"""), "$.steps[0].messages");
        AssertPaths(Scenario($$"""[{ "type": "send", "id": "s", "messages": [{{six}}] }]"""), "$.steps[0].messages");
        AssertPaths(Scenario($$"""[{ "type": "send", "id": "s", "messages": [{{five}}] }]"""));
    }

    [Fact]
    public void Messages_need_a_known_type()
    {
        var json = Scenario("""
            [{ "type": "send", "id": "s", "messages": [
              { "type": "txt", "text": "x" },
              { "text": "no type" },
              { "type": 1 },
              { "type": "sticker", "packageId": "446", "stickerId": "1988" }
            ] }]
            """);

        AssertPaths(json, "$.steps[0].messages[0].type", "$.steps[0].messages[1].type", "$.steps[0].messages[2].type");
    }

    [Fact]
    public void A_message_that_is_not_an_object_is_reported()
    {
        var scenario = ScenarioJson.Deserialize(Scenario($"[{Hello}]")) with
        {
            Steps = [new SendStep { Id = "s", Messages = [new LineMessage("[1]"), new LineMessage("{oops")] }],
        };

        Assert.Equal(
            ["$.steps[0].messages[0]", "$.steps[0].messages[1]"],
            ScenarioValidator.Validate(scenario).Select(problem => problem.Path));
    }

    [Fact]
    public void Text_messages_hold_1_to_5000_utf16_code_units()
    {
        static string Send(string text) => Scenario($$"""[{ "type": "send", "id": "s", "messages": [{ "type": "text", "text": "{{text}}" }] }]""");
        var emoji = string.Concat(Enumerable.Repeat("🐟", 2500));

        AssertPaths(Send(""), "$.steps[0].messages[0].text");
        AssertPaths(Send(new string('あ', 5001)), "$.steps[0].messages[0].text");
        AssertPaths(Send(emoji + "🐟"), "$.steps[0].messages[0].text");
        AssertPaths(Send(new string('あ', 5000)));
        AssertPaths(Send(emoji));
        AssertPaths(Scenario("""[{ "type": "send", "id": "s", "messages": [{ "type": "text" }] }]"""), "$.steps[0].messages[0].text");
    }

    [Fact]
    public void Wait_values_must_not_be_negative_and_at_must_be_hh_mm()
    {
        AssertPaths(
            Scenario("""
                [
                  { "type": "wait", "id": "w0", "days": -1, "hours": -2, "minutes": -3 },
                  { "type": "wait", "id": "w1", "at": "25:00" },
                  { "type": "wait", "id": "w2", "days": 1, "hours": 2, "at": "10:00" },
                  { "type": "wait", "id": "w3" },
                  { "type": "wait", "id": "w4", "days": 3, "at": "23:59" }
                ]
                """),
            "$.steps[0].days", "$.steps[0].hours", "$.steps[0].minutes", "$.steps[1].at", "$.steps[2].at");
    }

    [Fact]
    public void Quiet_hours_must_be_valid_distinct_and_not_overlap()
    {
        AssertPaths(
            Scenario("""
                [
                  { "type": "wait", "id": "w0", "days": 1, "quietHours": [{ "start": "8:00", "end": "24:00" }] },
                  { "type": "wait", "id": "w1", "days": 1, "quietHours": [{ "start": "09:00", "end": "09:00" }] },
                  { "type": "wait", "id": "w2", "days": 1, "quietHours": [{ "start": "22:00", "end": "08:00" }, { "start": "07:00", "end": "09:00" }] },
                  { "type": "wait", "id": "w3", "days": 1, "quietHours": [{ "start": "23:00", "end": "01:00" }, { "start": "00:30", "end": "02:00" }] },
                  { "type": "wait", "id": "w4", "days": 1, "quietHours": [{ "start": "22:00", "end": "08:00" }, { "start": "08:00", "end": "09:00" }, { "start": "12:00", "end": "13:00" }] }
                ]
                """),
            "$.steps[0].quietHours[0].start", "$.steps[0].quietHours[0].end", "$.steps[1].quietHours[0]",
            "$.steps[2].quietHours[1]", "$.steps[3].quietHours[1]");
    }

    [Fact]
    public void Wait_for_event_needs_an_event_and_a_positive_timeout()
    {
        AssertPaths(
            Scenario("""
                [
                  { "type": "waitForEvent", "id": "a", "event": "", "timeout": { "days": 1 } },
                  { "type": "waitForEvent", "id": "b", "event": "purchased", "timeout": {} },
                  { "type": "waitForEvent", "id": "c", "event": "purchased", "timeout": { "days": -1, "hours": 30 } }
                ]
                """),
            "$.steps[0].event", "$.steps[1].timeout", "$.steps[2].timeout.days");
    }

    [Fact]
    public void Branch_needs_a_case()
    {
        AssertPaths(Scenario($$"""[{ "type": "branch", "id": "b", "cases": [] }, {{Hello}}]"""), "$.steps[0].cases");
    }

    [Fact]
    public void Split_percentages_must_add_up_to_100_with_unique_variant_names()
    {
        AssertPaths(
            Scenario($$"""
                [
                  { "type": "split", "id": "s0", "holdoutPercent": 5, "variants": [{ "name": "A", "percent": 60, "goto": "hello" }, { "name": "B", "percent": 30, "goto": "hello" }] },
                  { "type": "split", "id": "s1", "holdoutPercent": -10, "variants": [{ "name": "A", "percent": 110, "goto": "hello" }] },
                  { "type": "split", "id": "s2", "holdoutPercent": 10, "variants": [{ "name": "A", "percent": 45, "goto": "hello" }, { "name": "a", "percent": 45, "goto": "hello" }] },
                  { "type": "split", "id": "s3", "holdoutPercent": 100, "variants": [] },
                  { "type": "split", "id": "s4", "next": "hello", "variants": [{ "name": "A", "percent": 100, "goto": "hello" }] },
                  {{Hello}}
                ]
                """),
            "$.steps[0].variants", "$.steps[1].holdoutPercent", "$.steps[1].variants[0].percent", "$.steps[2].variants[1].name",
            "$.steps[3].variants", "$.steps[4].next");
    }

    [Fact]
    public void Tag_step_must_change_a_tag()
    {
        AssertPaths(
            Scenario("""[{ "type": "tag", "id": "t0" }, { "type": "tag", "id": "t1", "add": ["vip"], "remove": [""] }]"""),
            "$.steps[0].add", "$.steps[1].remove[0]");
    }

    [Fact]
    public void Exit_step_cannot_have_next()
    {
        AssertPaths(Scenario($$"""[{ "type": "exit", "id": "x", "next": "hello" }, {{Hello}}]"""), "$.steps[0].next");
    }

    [Fact]
    public void Conditions_are_checked_at_every_depth_with_their_paths()
    {
        var json = Scenario($$"""
            [
              { "type": "tag", "id": "start", "add": ["entered"] },
              { "type": "branch", "id": "route", "cases": [
                { "goto": "hello", "when": { "type": "all", "conditions": [
                  { "type": "attribute", "name": "age", "op": "gte", "value": "20" },
                  { "type": "attribute", "name": "age", "op": "lt", "value": "thirty" },
                  { "type": "attribute", "name": "", "op": "exists" },
                  { "type": "attribute", "name": "area", "op": "in", "values": [] },
                  { "type": "not", "condition": { "type": "any", "conditions": [] } },
                  { "type": "keyword", "keywords": [] },
                  { "type": "tag", "tag": "" },
                  { "type": "event", "name": "" },
                  { "type": "attribute", "name": "gender", "value": null }
                ] } }
              ] },
              {{Hello}}
            ]
            """);

        AssertPaths(json,
            "$.steps[1].cases[0].when.conditions[1].value",
            "$.steps[1].cases[0].when.conditions[2].name",
            "$.steps[1].cases[0].when.conditions[3].values",
            "$.steps[1].cases[0].when.conditions[4].condition.conditions",
            "$.steps[1].cases[0].when.conditions[5].keywords",
            "$.steps[1].cases[0].when.conditions[6].tag",
            "$.steps[1].cases[0].when.conditions[7].name",
            "$.steps[1].cases[0].when.conditions[8].value");
    }

    [Fact]
    public void Every_problem_is_reported_not_just_the_first()
    {
        var json = $$"""
            {
              "id": "", "title": "", "channelId": "sandbox", "timeZone": "Mars/Olympus",
              "triggers": [],
              "steps": [
                { "type": "send", "id": "a", "next": "zzz", "messages": [] },
                { "type": "wait", "id": "a", "days": -1 }
              ]
            }
            """;

        AssertPaths(json, "$.id", "$.title", "$.timeZone", "$.triggers", "$.steps[0].next", "$.steps[0].messages", "$.steps[1].id", "$.steps[1].days");
    }
}
