using Stepcast.Silo;
using Stepcast.Silo.Postgres;

var builder = Host.CreateApplicationBuilder(args);
if (args is [MigrateCommand.Name, ..])
{
    return await MigrateCommand.RunAsync(builder.Configuration, Console.Out, CancellationToken.None);
}

builder.UseOrleans(silo => silo.AddStepcastSilo(builder.Configuration));
builder.Services.AddHostedService<SampleScenarioLoader>();
await builder.Build().RunAsync();
return 0;
