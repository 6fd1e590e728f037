using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Friends;

/// <summary>Watches runs move through their steps without taking part (stats counters).</summary>
public interface IRunObserver
{
    /// <summary>A run reached a step and is about to carry it out.</summary>
    void Reached(Enrollment run, ScenarioStep step);

    /// <summary>A run recorded a history entry (entered, sent, failed, skipped, …).</summary>
    void Recorded(HistoryEntry entry);
}
