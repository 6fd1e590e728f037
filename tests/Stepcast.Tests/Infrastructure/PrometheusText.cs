using System.Globalization;
using System.Text.RegularExpressions;

namespace Stepcast.Tests.Infrastructure;

/// <summary>Reads values out of a /metrics page in Prometheus' text format.</summary>
public static partial class PrometheusText
{
    /// <summary>The sum of the samples named <paramref name="metric"/> whose labels include every one given; 0 if none.</summary>
    public static double Sum(string page, string metric, params (string Name, string Value)[] labels)
    {
        var sum = 0d;
        foreach (var line in page.Split('\n'))
        {
            if (Sample().Match(line) is not { Success: true } sample || sample.Groups["name"].Value != metric)
            {
                continue;
            }

            var found = LabelPair().Matches(sample.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            if (labels.All(l => found.TryGetValue(l.Name, out var value) && value == l.Value))
            {
                sum += double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)")]
    private static partial Regex Sample();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
