using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Friends;

public enum RunPosition
{
    /// <summary>The run waits for a later time or an event.</summary>
    Waiting,
    /// <summary>The run stands at a send step whose retry key is allocated: the grain must deliver it.</summary>
    AtSend,
    /// <summary>The run completed or exited and was removed.</summary>
    Finished,
}

/// <summary>
/// Moves runs through the steps that need no I/O (waits, branches, splits, tags, exits) and stops at a send or
/// a wait. Plain C# over a <see cref="FriendState"/>, so the rules are testable without a silo.
/// </summary>
public sealed class ScenarioInterpreter(FriendState friend, string friendKey, EngineOptions options)
{
    // Validation rejects loops with no wait; this only stops a run that slipped through from spinning forever.
    private const int MaxStepsPerAdvance = 1_000;

    private readonly List<string> _tagsAdded = [];

    /// <summary>Told of each step a run reaches and each history entry a run records (the stats hook).</summary>
    public IRunObserver? Observer { get; init; }

    /// <summary>Tags added by tag steps since the last call; tag-added triggers fire on them.</summary>
    public IReadOnlyList<string> TakeTagsAdded()
    {
        var added = _tagsAdded.ToArray();
        _tagsAdded.Clear();
        return added;
    }

    public RunPosition Advance(Enrollment run, ScenarioDefinition scenario, DateTimeOffset now)
    {
        var zone = TimeZones.Get(scenario.TimeZone);
        for (var i = 0; i < MaxStepsPerAdvance; i++)
        {
            if (run.DueAt > now)
            {
                return RunPosition.Waiting;
            }

            if (run.AwaitedEvent is not null)
            {
                // The wait-for-event timed out before the event arrived.
                var waiting = (WaitForEventStep)StepOf(scenario, run.StepId!)!;
                run.AwaitedEvent = null;
                run.StepId = waiting.OnTimeout ?? NextAfter(scenario, waiting);
                continue;
            }

            var step = run.StepId is null ? null : StepOf(scenario, run.StepId);
            if (step is null)
            {
                Finish(run, HistoryKind.Completed, run.StepId is null ? null : $"step '{run.StepId}' not found");
                return RunPosition.Finished;
            }

            // A send waiting for a retry already reached its step when its retry key was allocated.
            if (step is not SendStep || run.PendingRetryKey is null)
            {
                Observer?.Reached(run, step);
            }

            switch (step)
            {
                case WaitStep wait:
                    run.DueAt = Compress(run.DueAt, WaitScheduler.ComputeDue(wait, run.DueAt, zone));
                    run.StepId = NextAfter(scenario, wait);
                    break;

                case WaitForEventStep waitForEvent:
                    run.AwaitedEvent = waitForEvent.Event;
                    run.DueAt = Compress(run.DueAt, WaitScheduler.TimeoutAt(waitForEvent.Timeout, run.DueAt, zone));
                    break;

                case BranchStep branch:
                    run.StepId = ChooseBranch(branch, run) ?? branch.Otherwise ?? NextAfter(scenario, branch);
                    break;

                case SplitStep split:
                    var variant = SplitAssignment.Choose(split, SplitAssignment.BucketOf(friendKey, scenario.Id, split.Id));
                    if (variant is null)
                    {
                        Record(run, HistoryKind.Holdout, split.Id, "in the holdout group");
                        Finish(run, HistoryKind.Exited, "holdout");
                        return RunPosition.Finished;
                    }

                    run.StepId = variant.Goto;
                    break;

                case TagStep tag:
                    ApplyTags(tag);
                    run.StepId = NextAfter(scenario, tag);
                    break;

                case SendStep:
                    if (run.PendingRetryKey is null)
                    {
                        run.PendingRetryKey = Guid.NewGuid();
                        run.PendingSince = now;
                    }

                    return RunPosition.AtSend;

                case ExitStep exit:
                    Finish(run, HistoryKind.Exited, $"exit step '{exit.Id}'");
                    return RunPosition.Finished;

                default:
                    throw new NotSupportedException($"Step type {step.GetType().Name} is not supported.");
            }
        }

        Record(run, HistoryKind.Failed, run.StepId, $"more than {MaxStepsPerAdvance} steps without a wait");
        Finish(run, HistoryKind.Exited, "runaway loop");
        return RunPosition.Finished;
    }

    /// <summary>The event a wait-for-event step awaited arrived: continue on its event path.</summary>
    public void ContinueOnEvent(Enrollment run, ScenarioDefinition scenario, DateTimeOffset now)
    {
        var waiting = (WaitForEventStep)StepOf(scenario, run.StepId!)!;
        run.AwaitedEvent = null;
        run.StepId = waiting.OnEvent ?? NextAfter(scenario, waiting);
        run.DueAt = now;
    }

    /// <summary>The step after a send, once its outcome is known.</summary>
    public void MovePastSend(Enrollment run, ScenarioDefinition scenario)
    {
        var send = StepOf(scenario, run.StepId!)!;
        run.PendingRetryKey = null;
        run.PendingSince = null;
        run.PendingBatchId = null;
        run.PushedAlone = false;
        run.HeldSince = null;
        run.SendAttempts = 0;
        run.StepId = NextAfter(scenario, send);
    }

    public void Finish(Enrollment run, HistoryKind kind, string? detail)
    {
        friend.Enrollments.Remove(run);
        if (friend.Participations.TryGetValue(run.ScenarioId, out var participation))
        {
            participation.LastFinishedAt = run.DueAt;
        }

        Record(run, kind, null, detail);
    }

    public void Record(Enrollment run, HistoryKind kind, string? stepId, string? detail, Guid? retryKey = null, DateTimeOffset? at = null)
    {
        var entry = new HistoryEntry
        {
            At = at ?? run.DueAt,
            Kind = kind,
            ScenarioId = run.ScenarioId,
            Version = run.Version,
            StepId = stepId,
            Detail = detail,
            RetryKey = retryKey,
        };
        AddHistory(friend, options, entry);
        Observer?.Recorded(entry);
    }

    public static void AddHistory(FriendState friend, EngineOptions options, HistoryEntry entry)
    {
        friend.History.Add(entry);
        if (friend.History.Count > options.HistoryLimit)
        {
            friend.History.RemoveRange(0, friend.History.Count - options.HistoryLimit);
        }
    }

    public FriendFacts FactsFor(Enrollment run) => new()
    {
        FriendKey = friendKey,
        Attributes = friend.Attributes,
        Tags = friend.Tags.ToHashSet(StringComparer.Ordinal),
        Events = friend.Events,
        LastReplyText = friend.LastReplyText,
        LastReplyAt = friend.LastReplyAt,
        EnteredAt = run.EnteredAt,
    };

    public static ScenarioStep? StepOf(ScenarioDefinition scenario, string stepId)
    {
        foreach (var step in scenario.Steps)
        {
            if (step.Id == stepId)
            {
                return step;
            }
        }

        return null;
    }

    /// <summary>The explicit next step, else the one listed after it, else null (the end).</summary>
    public static string? NextAfter(ScenarioDefinition scenario, ScenarioStep step)
    {
        if (step.Next is not null)
        {
            return step.Next;
        }

        var index = scenario.Steps.IndexOf(step);
        return index >= 0 && index + 1 < scenario.Steps.Length ? scenario.Steps[index + 1].Id : null;
    }

    private string? ChooseBranch(BranchStep branch, Enrollment run)
    {
        var facts = FactsFor(run);
        foreach (var @case in branch.Cases)
        {
            if (ConditionEvaluator.Evaluate(@case.When, facts))
            {
                return @case.Goto;
            }
        }

        return null;
    }

    private void ApplyTags(TagStep step)
    {
        foreach (var tag in step.Remove)
        {
            friend.Tags.Remove(tag);
        }

        foreach (var tag in step.Add)
        {
            if (!friend.Tags.Contains(tag))
            {
                friend.Tags.Add(tag);
                _tagsAdded.Add(tag);
            }
        }
    }

    private DateTimeOffset Compress(DateTimeOffset from, DateTimeOffset due) =>
        options.WaitCompression <= 1 ? due : from + (due - from) / options.WaitCompression;
}
