using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Domain;

public sealed class SampleScenarioTests
{
    private static string[] FileNames() =>
        [.. Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "samples", "scenarios"), "*.json")
            .Select(file => Path.GetFileName(file))
            .Order(StringComparer.Ordinal)];

    public static TheoryData<string> SampleFiles() => new(FileNames());

    [Theory]
    [MemberData(nameof(SampleFiles))]
    public void Sample_scenarios_are_valid(string fileName)
    {
        var result = ScenarioParser.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "samples", "scenarios", fileName)));

        Assert.Empty(result.Problems);
        Assert.True(result.IsValid);
        Assert.Equal("sandbox", result.Scenario!.ChannelId);
        Assert.Equal("Asia/Tokyo", result.Scenario.TimeZone);
        Assert.Equal(Path.GetFileNameWithoutExtension(fileName), result.Scenario.Id);
    }

    [Fact]
    public void The_four_documented_samples_are_present()
    {
        var names = FileNames().ToHashSet();

        Assert.Subset(names, new HashSet<string>
        {
            "restaurant-welcome.json", "health-food-after-purchase.json", "seafood-nurture.json", "cart-abandonment.json",
        });
    }

    [Fact]
    public void Samples_survive_a_round_trip_through_the_json_shape()
    {
        foreach (var fileName in FileNames())
        {
            var scenario = ScenarioJson.Deserialize(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "samples", "scenarios", fileName)));

            var again = ScenarioParser.Parse(ScenarioJson.Serialize(scenario));

            Assert.Empty(again.Problems);
            Assert.Equal(scenario.Steps.Length, again.Scenario!.Steps.Length);
        }
    }
}
