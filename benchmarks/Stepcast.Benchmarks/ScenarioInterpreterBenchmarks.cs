using BenchmarkDotNet.Attributes;
using Stepcast.Grains;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Benchmarks;

/// <summary>
/// What a friend grain does for each run an event touches: move it through branch, tag and split steps to the
/// next wait, and decide a branch's nested condition.
/// </summary>
[MemoryDiagnoser]
public class ScenarioInterpreterBenchmarks
{
    // A brand's welcome series: VIP women get a tag first, then everyone is split A/B with a 10 % holdout, and
    // each variant waits for the next morning outside quiet hours before its coupon.
    private const string ScenarioJsonText = """
        {
          "id": "cosmetics-welcome",
          "title": "Cosmetics welcome / コスメ 友だち追加",
          "channelId": "bench",
          "timeZone": "Asia/Tokyo",
          "triggers": [{ "type": "follow" }],
          "steps": [
            {
              "type": "branch", "id": "segment",
              "cases": [
                {
                  "when": { "type": "all", "conditions": [
                    { "type": "attribute", "name": "gender", "op": "eq", "value": "female" },
                    { "type": "tag", "tag": "vip" } ] },
                  "goto": "tag-vip"
                },
                {
                  "when": { "type": "any", "conditions": [
                    { "type": "attribute", "name": "age", "op": "gte", "value": "40" },
                    { "type": "attribute", "name": "area", "op": "in", "values": ["Tokyo", "Osaka"] } ] },
                  "goto": "split"
                }
              ],
              "otherwise": "split"
            },
            { "type": "tag", "id": "tag-vip", "add": ["vip-welcome"], "remove": ["prospect"] },
            {
              "type": "split", "id": "split", "holdoutPercent": 10,
              "variants": [
                { "name": "A", "percent": 45, "goto": "wait-a" },
                { "name": "B", "percent": 45, "goto": "wait-b" }
              ]
            },
            { "type": "wait", "id": "wait-a", "days": 1, "at": "10:00", "next": "coupon-a",
              "quietHours": [{ "start": "22:00", "end": "08:00" }] },
            { "type": "wait", "id": "wait-b", "days": 1, "at": "19:00", "next": "coupon-b",
              "quietHours": [{ "start": "22:00", "end": "08:00" }] },
            { "type": "send", "id": "coupon-a", "next": "done",
              "messages": [{ "type": "text", "text": "{displayName}さん、朝の10%オフクーポンです。" }] },
            { "type": "send", "id": "coupon-b", "next": "done",
              "messages": [{ "type": "text", "text": "{displayName}さん、夜の送料無料クーポンです。" }] },
            { "type": "exit", "id": "done" }
          ]
        }
        """;

    private static readonly DateTimeOffset Now = new(2026, 11, 22, 21, 30, 0, TimeSpan.FromHours(9));
    private static readonly string[] InitialTags = ["vip", "prospect", "newsletter", "line-only", "autumn-2026"];

    private ScenarioDefinition _scenario = null!;
    private FriendState _friend = null!;
    private Enrollment _run = null!;
    private ScenarioInterpreter _interpreter = null!;
    private Condition _nestedCondition = null!;
    private FriendFacts _facts = null!;

    [GlobalSetup]
    public void Setup()
    {
        _scenario = ScenarioJson.Deserialize(ScenarioJsonText);
        var problems = ScenarioValidator.Validate(_scenario);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("Invalid benchmark scenario: " + string.Join("; ", problems));
        }

        _friend = SampleFriends.Waiting(Now);
        _run = new Enrollment { Number = 99, ScenarioId = _scenario.Id, Version = 1, Source = "follow" };
        _interpreter = new ScenarioInterpreter(_friend, FriendKeyOutsideHoldout(), new EngineOptions());

        ResetRun();
        if (_interpreter.Advance(_run, _scenario, Now) != RunPosition.Waiting || _run.StepId is not ("coupon-a" or "coupon-b")
            || !_friend.Tags.Contains("vip-welcome"))
        {
            throw new InvalidOperationException($"The run did not take the VIP path to a wait (at '{_run.StepId}').");
        }

        _nestedCondition = new AllCondition
        {
            Conditions =
            [
                new AnyCondition
                {
                    Conditions =
                    [
                        new AttributeCondition { Name = "gender", Value = "male" },
                        new AttributeCondition { Name = "Age", Op = AttributeOperator.Gte, Value = "30" },
                    ],
                },
                new AnyCondition
                {
                    Conditions =
                    [
                        new EventCondition { Name = "purchased" },
                        new TagCondition { Tag = "vip" },
                    ],
                },
                new NotCondition { Condition = new AttributeCondition { Name = "area", Op = AttributeOperator.In, Values = ["Okinawa", "Hokkaido"] } },
            ],
        };
        ResetRun();
        _facts = _interpreter.FactsFor(_run);
        if (!ConditionEvaluator.Evaluate(_nestedCondition, _facts))
        {
            throw new InvalidOperationException("The nested condition should hold for the sample friend.");
        }
    }

    /// <summary>From the branch at the start to the wait: branch, tag, split (SHA-256 bucket), wait due time.</summary>
    [Benchmark]
    public RunPosition AdvanceToWait()
    {
        ResetRun();
        var position = _interpreter.Advance(_run, _scenario, Now);
        _interpreter.TakeTagsAdded();
        return position;
    }

    [Benchmark]
    public bool EvaluateNestedCondition() => ConditionEvaluator.Evaluate(_nestedCondition, _facts);

    // Undoes the previous operation in place, so the measurement is the interpreter's work rather than building a
    // friend; the tag list is restored to its 5 entries.
    private void ResetRun()
    {
        _friend.Tags.Clear();
        _friend.Tags.AddRange(InitialTags);
        _run.StepId = "segment";
        _run.DueAt = Now;
        _run.EnteredAt = Now;
        _run.AwaitedEvent = null;
        _run.PendingRetryKey = null;
        _run.PendingSince = null;
    }

    // The split sends 10 % of friends to the holdout, where the run ends; the benchmark wants the common path.
    private string FriendKeyOutsideHoldout()
    {
        var split = (SplitStep)_scenario.Steps.Single(step => step.Id == "split");
        for (var i = 0; ; i++)
        {
            var key = $"bench/U{i:x8}a1b2c3d4e5f60718293a4b5c6d7e";
            if (SplitAssignment.Choose(split, SplitAssignment.BucketOf(key, _scenario.Id, split.Id)) is not null)
            {
                return key;
            }
        }
    }
}
