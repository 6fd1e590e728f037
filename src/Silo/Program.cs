using Microsoft.Extensions.Hosting;
using Stepcast.Silo.Postgres;

var builder = Host.CreateApplicationBuilder(args);

if (args is [MigrateCommand.Name, ..])
{
    return await MigrateCommand.RunAsync(builder.Configuration, Console.Out, CancellationToken.None);
}

using var host = builder.Build();
await host.RunAsync();
return 0;
