using Stepcast.Grains.Friends;

namespace Stepcast.Grains.Campaigns;

/// <summary>Thread-safe progress counters for one upload or segment page, handed on as deltas.</summary>
public sealed class CampaignTally
{
    private readonly long[] _counts = new long[Enum.GetValues<Slot>().Length];
    private readonly long[] _reported = new long[Enum.GetValues<Slot>().Length];
    private readonly Lock _takeLock = new();

    private enum Slot { Accepted, Enrolled, InvalidId, NotAFriend, Blocked, AlreadyEnrolled, NotEligible, NotInSegment, Duplicate, ScenarioNotActive, Failed }

    public void InvalidId() => Add(Slot.InvalidId);

    public void Failed() => Add(Slot.Failed);

    public void Outcome(EnrollOutcome outcome) => Add(outcome switch
    {
        EnrollOutcome.Enrolled => Slot.Enrolled,
        EnrollOutcome.Duplicate => Slot.Duplicate,
        EnrollOutcome.AlreadyEnrolled => Slot.AlreadyEnrolled,
        EnrollOutcome.NotEligible => Slot.NotEligible,
        EnrollOutcome.Blocked => Slot.Blocked,
        EnrollOutcome.NotAFriend => Slot.NotAFriend,
        EnrollOutcome.NotInSegment => Slot.NotInSegment,
        EnrollOutcome.ScenarioNotActive or EnrollOutcome.OutsideValidity => Slot.ScenarioNotActive,
        _ => Slot.Failed,
    });

    /// <summary>What was counted since the previous call.</summary>
    public CampaignCounts TakeDelta()
    {
        lock (_takeLock)
        {
            var delta = new long[_counts.Length];
            for (var i = 0; i < _counts.Length; i++)
            {
                var now = Interlocked.Read(ref _counts[i]);
                delta[i] = now - _reported[i];
                _reported[i] = now;
            }

            return new CampaignCounts
            {
                Accepted = delta[(int)Slot.Accepted],
                Enrolled = delta[(int)Slot.Enrolled],
                InvalidId = delta[(int)Slot.InvalidId],
                NotAFriend = delta[(int)Slot.NotAFriend],
                Blocked = delta[(int)Slot.Blocked],
                AlreadyEnrolled = delta[(int)Slot.AlreadyEnrolled],
                NotEligible = delta[(int)Slot.NotEligible],
                NotInSegment = delta[(int)Slot.NotInSegment],
                Duplicate = delta[(int)Slot.Duplicate],
                ScenarioNotActive = delta[(int)Slot.ScenarioNotActive],
                Failed = delta[(int)Slot.Failed],
            };
        }
    }

    // Every row counts once as accepted and once under its outcome.
    private void Add(Slot slot)
    {
        Interlocked.Increment(ref _counts[(int)slot]);
        Interlocked.Increment(ref _counts[(int)Slot.Accepted]);
    }
}
