"""Setup for spam_llms, driven by settings.ini (the nbdev 2 convention)."""
from configparser import ConfigParser
import setuptools, shlex

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
lic = licenses[cfg['license']]

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], license=lic[0],
    description=cfg['description'], author=cfg['author'], author_email=cfg['author_email'],
    packages=setuptools.find_packages(include=['spam_llms', 'spam_llms.*']),
    include_package_data=True, install_requires=requirements,
    extras_require={'dev': dev_requirements, 'gpu': ['faiss-gpu-cu12']},
    python_requires='>=' + cfg['min_python'], zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(), 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
)
