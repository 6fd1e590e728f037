using System.Collections.Immutable;
using Stepcast.Grains.Delivery;

namespace Stepcast.Grains.TestDelivery;

/// <summary>
/// LINE's テスト配信 for a scenario, keyed by channel id: plays every send step of a scenario to designated test
/// friends at once, in the order the steps are written, marked as test (<see cref="DeliveryRequest.IsTest"/>), with
/// waits, branches and conditions skipped so a reviewer sees every message. The friends' own runs, history and the
/// scenario's statistics are untouched.
/// </summary>
/// <remarks>
/// Test sends to a channel with an access token are real LINE pushes, so LINE counts them in the account's month;
/// they take no reservation from Stepcast's plan budget (a handful of staff messages is not worth holding a
/// campaign for), and the quota's reconciliation with LINE's own count picks them up.
/// </remarks>
public interface ITestDeliveryGrain : IGrainWithStringKey
{
    Task<TestDeliveryReport> Play(TestDeliveryCommand command);
}

[GenerateSerializer, Immutable]
public sealed record TestDeliveryCommand
{
    [Id(0)] public required string ScenarioId { get; init; }
    /// <summary>A published version; 0 plays the draft.</summary>
    [Id(1)] public int Version { get; init; }
    [Id(2)] public required ImmutableArray<string> LineUserIds { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record TestDeliveryReport
{
    /// <summary>False when the scenario (or the version asked for) does not exist; nothing was sent.</summary>
    [Id(0)] public bool Found { get; init; }
    [Id(1)] public int Version { get; init; }
    [Id(2)] public ImmutableArray<TestSend> Sends { get; init; } = [];
}

[GenerateSerializer, Immutable]
public sealed record TestSend(
    [property: Id(0)] string LineUserId,
    [property: Id(1)] string StepId,
    [property: Id(2)] DeliveryStatus Status,
    [property: Id(3)] string? Detail);
