// TEMPORARY: replaced by the domain branch at merge.
namespace Stepcast.Grains.Scenarios;
[GenerateSerializer, Immutable]
public sealed record ValidationProblem([property: Id(0)] string Path, [property: Id(1)] string Message);
public static class ScenarioValidator { public static IReadOnlyList<ValidationProblem> Validate(ScenarioDefinition s) => []; }
public static class WaitScheduler
{
    public static DateTimeOffset ComputeDue(WaitStep step, DateTimeOffset startedAt, TimeZoneInfo zone) => startedAt + new TimeSpan(step.Days, step.Hours, step.Minutes, 0);
    public static DateTimeOffset TimeoutAt(Duration timeout, DateTimeOffset startedAt, TimeZoneInfo zone) => startedAt + timeout.ToTimeSpan();
}
public static class ConditionEvaluator { public static bool Evaluate(Condition c, FriendFacts f) => false; }
public static class SplitAssignment
{
    public static int BucketOf(string friendKey, string scenarioId, string stepId) => 0;
    public static SplitVariant? Choose(SplitStep step, int bucket) => step.Variants.FirstOrDefault();
}
public static class MessagePersonalizer { public static LineMessage Render(LineMessage m, IReadOnlyDictionary<string, string> v) => m; }
