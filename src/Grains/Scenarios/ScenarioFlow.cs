namespace Stepcast.Grains.Scenarios;

/// <summary>
/// The flow rule shared by the validator and the runtime: a step that does not name its successor goes to
/// <see cref="ScenarioStep.Next"/> when set, else to the step after it in the list; past the last step the run completes.
/// </summary>
public static class ScenarioFlow
{
    /// <summary>The default successor of the step at <paramref name="index"/>, or null when the run completes there.</summary>
    public static string? DefaultNext(IReadOnlyList<ScenarioStep> steps, int index)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, steps.Count);

        if (steps[index].Next is { } next)
        {
            return next;
        }

        return index + 1 < steps.Count ? steps[index + 1]?.Id : null;
    }

    /// <summary>
    /// Every step id the step at <paramref name="index"/> may lead to. An exit step and a split's holdout lead nowhere;
    /// a split ignores <see cref="ScenarioStep.Next"/> because each variant names its own step.
    /// </summary>
    public static IEnumerable<string> Successors(IReadOnlyList<ScenarioStep> steps, int index)
    {
        ArgumentNullException.ThrowIfNull(steps);
        IEnumerable<string?> candidates = steps[index] switch
        {
            ExitStep => [],
            SplitStep split => split.Variants.IsDefault ? [] : split.Variants.Select(variant => variant?.Goto),
            BranchStep branch =>
            [
                .. branch.Cases.IsDefault ? [] : branch.Cases.Select(@case => @case?.Goto),
                branch.Otherwise ?? DefaultNext(steps, index),
            ],
            WaitForEventStep wait =>
            [
                wait.OnEvent ?? DefaultNext(steps, index),
                wait.OnTimeout ?? DefaultNext(steps, index),
            ],
            _ => [DefaultNext(steps, index)],
        };

        return candidates.Where(id => !string.IsNullOrEmpty(id)).Select(id => id!).Distinct(StringComparer.Ordinal);
    }
}
